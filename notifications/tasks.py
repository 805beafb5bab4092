"""Notification tasks: thin wrappers around services, on the `notifications` queue.

`deliver` is safe to run twice or concurrently for one delivery (the service claims the row first), which is what
makes late acknowledgement and retries safe. Transient failures retry with the project's backoff and jitter
(BaseTask); the service caps the total attempts per delivery across retries and re-enqueues.
"""

from __future__ import annotations

from celery import shared_task

from . import services
from .channels.base import TransientDeliveryError


@shared_task(
    name="notifications.deliver",
    autoretry_for=(TransientDeliveryError, ConnectionError, TimeoutError, OSError),
)
def deliver(delivery_id: str) -> None:
    services.delivery_send(delivery_id=delivery_id)


@shared_task(name="notifications.dispatch_due")
def dispatch_due() -> int:
    """Every minute: send what quiet hours held back and re-enqueue deliveries whose message was lost."""
    return services.deliveries_dispatch_due()


@shared_task(name="notifications.check_push_receipts")
def check_push_receipts() -> int:
    """Every 15 minutes: read Expo's receipts of recent pushes and deactivate the tokens Expo no longer knows."""
    return services.push_receipts_check()
