from __future__ import annotations

from celery.exceptions import Retry

from notifications.models import NotificationDelivery
from notifications.services import notify


def delivery_of(user, channel: str, **notify_kwargs) -> NotificationDelivery:
    """A fresh notification for USER (not yet sent: no commit has run) and its CHANNEL delivery."""
    kwargs = {"category": "system", "title": "Your data export is ready", "body": "Open the app to download it."}
    kwargs.update(notify_kwargs)
    notification = notify(user=user, **kwargs)
    return NotificationDelivery.objects.get(notification=notification, channel=channel, contact=None)


def run_like_a_worker(task, *args, max_runs: int = 10) -> list[float]:
    """Run TASK as a worker would, running each retry it asks for at once; answer the countdowns it asked.

    Raises whatever the task raises once it stops retrying (after `max_retries`).
    """
    countdowns: list[float] = []
    for retries in range(max_runs):
        try:
            task.apply(args=args, retries=retries, throw=True)
        except Retry as exc:
            countdowns.append(exc.when)
            continue
        return countdowns
    raise AssertionError(f"{task.name} still retrying after {max_runs} runs")
