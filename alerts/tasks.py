"""Thin tasks of alerts, on the `notifications` queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="alerts.run_due")
def run_due() -> dict:
    """Every minute (beat): reminders and escalations that are due, and episodes that went quiet. Idempotent:
    each piece of work is claimed on its row, so a second run at once, or a redelivery, finds nothing to do."""
    work = services.episodes_run_due()
    return {"reminders": work.reminders, "escalations": work.escalations, "closed": work.closed}
