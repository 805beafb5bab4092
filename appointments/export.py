"""The person's appointments for `GET auth/export/` (accounts.export): as patient, with their history, and the
provider profile of a doctor. The calendar feed token is a secret and is never exported."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from accounts.models import User

from .models import Appointment, ProviderProfile


def _appointment_rows(user: User) -> Iterator[dict]:
    appointments = (
        Appointment.objects.filter(patient=user)
        .select_related("provider")
        .prefetch_related("reschedules")
        .order_by("start_time")
    )
    # chunk_size: prefetch_related only works with iterator() when a chunk size is given.
    for a in appointments.iterator(chunk_size=500):
        yield {
            "id": str(a.pk),
            "provider": {
                "id": str(a.provider_id) if a.provider_id is not None else None,
                "name": a.provider_display_name,
            },
            "start_time": a.start_time,
            "end_time": a.end_time,
            "appointment_type": a.appointment_type,
            "status": a.status,
            "reason": a.reason,
            "notes": a.notes,
            "meeting_url": a.meeting_url,
            "cancellation_reason": a.cancellation_reason,
            "cancelled_at": a.cancelled_at,
            "created_at": a.created_at,
            "reschedules": [
                {
                    "previous_start_time": r.previous_start_time,
                    "previous_end_time": r.previous_end_time,
                    "new_start_time": r.new_start_time,
                    "new_end_time": r.new_end_time,
                    "created_at": r.created_at,
                }
                for r in a.reschedules.all()
            ],
        }


def _provider_rows(user: User) -> Iterator[dict]:
    for p in ProviderProfile.objects.filter(doctor=user):
        yield {
            "specialty": p.specialty,
            "clinic_name": p.clinic_name,
            "clinic_address": p.clinic_address,
            "consultation_minutes": p.consultation_minutes,
            "timezone": p.timezone,
            "working_hours": p.working_hours,
            "days_off": p.days_off,
        }


def export_sections(user: User) -> Iterator[tuple[str, Iterable[dict]]]:
    yield ("appointments", _appointment_rows(user))
    yield ("provider_profile", _provider_rows(user))
