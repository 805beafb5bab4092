"""Periodic medication work. Thin: each task calls one service, which finds its work in the database."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="medications.send_dose_reminders")
def send_dose_reminders() -> int:
    """Every minute (on the notifications queue, see CELERY_TASK_ROUTES): remind the doses that are due, each
    dose once (its notification dedupe key)."""
    return services.dose_reminders_send()


@shared_task(name="medications.mark_missed_doses")
def mark_missed_doses() -> int:
    """Every 15 minutes: record doses left unlogged past the grace window as missed (idempotent)."""
    return services.doses_mark_missed()
