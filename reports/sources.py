"""What the dashboard and the health summary show from the other apps, read through their selectors only.

Each function returns plain data (dicts of ids, strings, numbers, dates), ready to cache and to serialize, and
reads a fixed number of queries however much history the person has.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q

from appointments import selectors as appointment_selectors
from appointments.choices import ACTIVE_STATUSES, ParticipantRole
from iot_devices import selectors as device_selectors
from medications import selectors as medication_selectors
from notifications import selectors as notification_selectors


def doses_of_day(*, user, day: date, now: datetime) -> list[dict[str, Any]]:
    """USER's doses on local DAY with their status (pending, taken, skipped, missed): three queries."""
    return [
        {
            "regimen": dose.regimen_id,
            "medication_name": dose.medication_name,
            "scheduled_for": dose.scheduled_for,
            "status": dose.status,
            "taken_at": dose.taken_at,
        }
        for dose in medication_selectors.doses_for_day(user=user, day=day, now=now)
        if dose.scheduled
    ]


def adherence(*, user, start_date: date, end_date: date, now: datetime) -> dict[str, Any]:
    """`{"start_date", "end_date", "overall": {"scheduled", "taken", "percent"}, "regimens": [...]}`: 3 queries."""
    answer = medication_selectors.adherence(user=user, start_date=start_date, end_date=end_date, now=now)
    return {
        "start_date": answer["start_date"],
        "end_date": answer["end_date"],
        "overall": dict(answer["overall"]),
        "regimens": [dict(item) for item in answer["regimens"]],
    }


def active_regimens(*, user, limit: int) -> list[dict[str, Any]]:
    """USER's current regimens, newest first: one query."""
    regimens = medication_selectors.regimen_list(user=user).filter(is_active=True)[:limit]
    return [
        {
            "id": regimen.id,
            "name": regimen.name,
            "dosage": float(regimen.dosage),
            "dosage_unit": regimen.dosage_unit,
            "form": regimen.form,
            "frequency": regimen.frequency,
            "frequency_label": regimen.get_frequency_display(),
            "schedule_times": list(regimen.schedule_times or []),
            "start_date": regimen.start_date,
            "end_date": regimen.end_date,
        }
        for regimen in regimens
    ]


def upcoming_appointments(*, user, now: datetime, limit: int) -> list[dict[str, Any]]:
    """USER's next scheduled or confirmed appointments as a patient, soonest first: two queries."""
    appointments = (
        appointment_selectors.appointments_visible_to(user=user, subject=user, role=ParticipantRole.PATIENT)
        .filter(status__in=ACTIVE_STATUSES, end_time__gt=now)
        .order_by("start_time", "id")[:limit]
    )
    rows = []
    for appointment in appointments:
        provider = appointment.provider
        # None once the provider's account was deleted: only their name is left (appointments.erasure).
        practice = getattr(provider, "provider_profile", None)
        rows.append(
            {
                "id": appointment.id,
                "start_time": appointment.start_time,
                "end_time": appointment.end_time,
                "appointment_type": appointment.appointment_type,
                "status": appointment.status,
                "meeting_url": appointment.meeting_url,
                "provider": {
                    "id": provider.id if provider is not None else None,
                    "name": appointment.provider_display_name,
                    "specialty": getattr(practice, "specialty", "") or "",
                    "clinic_name": getattr(practice, "clinic_name", "") or "",
                },
            }
        )
    return rows


def notifications_summary(*, user, limit: int) -> dict[str, Any]:
    """The unread count and the latest LIMIT notifications of the inbox: two queries."""
    latest = notification_selectors.notification_list(user=user)[:limit]
    return {
        "unread_count": notification_selectors.notification_unread_count(user=user),
        "latest": [
            {
                "id": item.id,
                "category": item.category,
                "severity": item.severity,
                "title": item.title,
                "body": item.body,
                "is_read": item.is_read,
                "created_at": item.created_at,
            }
            for item in latest
        ],
    }


def device_states(*, user) -> list[dict[str, Any]]:
    """USER's devices with their state and how many alerts are open on each: one query."""
    devices = device_selectors.device_list(owner=user).annotate(
        open_alerts=Count("alerts", filter=Q(alerts__is_resolved=False))
    )
    return [
        {
            "id": item.id,
            "name": item.name,
            "device_type": item.device_type,
            "status": item.status,
            "is_verified": item.is_verified,
            "last_seen_at": item.last_seen_at,
            "battery_level": item.battery_level,
            "firmware_version": item.firmware_version,
            "open_alerts": item.open_alerts,
        }
        for item in devices
    ]
