"""Appointment reminders: which are due, found in the database, and sending each exactly once.

For each offset H of `APPOINTMENT_REMINDER_OFFSETS_HOURS` (24 and 1 by default) a reminder is due from H
hours before the start until the next smaller offset's time (the start, for the smallest). So a beat that was
down for a while sends the one reminder that still makes sense rather than all of them at once. A reminder
whose time had passed when the slot was booked (a booking 2 hours ahead gets no 24-hour reminder) is not sent.
Cancelled, completed and no-show appointments get none.

Exactly once: the claim row (appointment, offset, start time) is inserted in the same transaction as the
notification, under a lock on the appointment. A second run, concurrent or later, hits the unique constraint
and sends nothing; a crash before commit leaves neither row and the next minute's run sends it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from . import notices
from .choices import ACTIVE_STATUSES
from .models import Appointment, AppointmentReminder

logger = logging.getLogger(__name__)

BATCH = 500


def reminder_windows(offsets: list[int]) -> list[tuple[int, int]]:
    """(offset, next smaller offset or 0) for each configured offset, largest first."""
    ordered = sorted(set(offsets), reverse=True)
    return [(hours, ordered[i + 1] if i + 1 < len(ordered) else 0) for i, hours in enumerate(ordered)]


def reminders_due(*, now: datetime) -> list[tuple[object, int]]:
    """(appointment id, offset hours) of every reminder due at NOW and not yet claimed."""
    due = []
    for hours, next_hours in reminder_windows(settings.APPOINTMENT_REMINDER_OFFSETS_HOURS):
        offset = timedelta(hours=hours)
        claimed = AppointmentReminder.objects.filter(
            appointment=OuterRef("pk"), offset_hours=hours, start_time=OuterRef("start_time")
        )
        ids = (
            Appointment.objects.filter(
                status__in=ACTIVE_STATUSES,
                start_time__lte=now + offset,
                start_time__gt=now + timedelta(hours=next_hours),
                start_time__gte=F("slot_booked_at") + offset,
            )
            .exclude(Exists(claimed))
            .order_by("start_time")
            .values_list("pk", flat=True)[:BATCH]
        )
        due += [(pk, hours) for pk in ids]
    return due


def reminder_send(*, appointment_id, offset_hours: int, now: datetime) -> bool:
    """Claim and send one reminder; False when it is no longer due or was already claimed."""
    with transaction.atomic():
        # The lock orders two runs working on one appointment: the second waits here, then finds the claim.
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("patient__profile", "patient__provider_profile", "provider")
            .filter(pk=appointment_id)
            .first()
        )
        if appointment is None or appointment.status not in ACTIVE_STATUSES or appointment.start_time <= now:
            return False
        try:
            with transaction.atomic():
                AppointmentReminder.objects.create(
                    appointment=appointment, offset_hours=offset_hours, start_time=appointment.start_time, sent_at=now
                )
        except IntegrityError:
            return False
        notices.reminder_notice(appointment=appointment, offset_hours=offset_hours)
    logger.info(
        "appointment_reminder_sent", extra={"appointment_id": str(appointment_id), "offset_hours": offset_hours}
    )
    return True


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Send every reminder due at NOW (default: now); returns how many were sent by this run."""
    now = now or timezone.now()
    sent = 0
    for appointment_id, hours in reminders_due(now=now):
        try:
            sent += reminder_send(appointment_id=appointment_id, offset_hours=hours, now=now)
        except DatabaseError:
            # One appointment's failure must not hold back everyone else's reminders; its claim rolled back,
            # so the next run tries it again.
            logger.exception("appointment_reminder_failed", extra={"appointment_id": str(appointment_id)})
    return sent
