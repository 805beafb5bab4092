"""Periodic appointment work. Thin: the task finds its work in the database through the reminders service."""

from __future__ import annotations

from celery import shared_task

from .reminders import reminders_send_due


@shared_task(name="appointments.send_due_reminders")
def send_due_reminders() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): send the reminders now due; safe to run twice or concurrently."""
    return reminders_send_due()
