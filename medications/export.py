"""The medications part of a person's export (`GET auth/export/`): regimens and dose logs, oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .models import DoseLog, Regimen


def export_sections(user) -> Iterator[tuple[str, Iterable[dict]]]:
    regimens = Regimen.objects.filter(user=user).select_related("prescribed_by").order_by("created_at", "id")
    yield (
        "medication_regimens",
        (
            {
                "id": str(r.pk),
                "medication": str(r.medication_id) if r.medication_id else None,
                "name": r.name,
                "dosage": r.dosage,
                "dosage_unit": r.dosage_unit,
                "form": r.form,
                "frequency": r.frequency,
                "interval_hours": r.interval_hours,
                "days_of_week": r.days_of_week,
                "schedule_times": r.schedule_times,
                "start_date": r.start_date,
                "end_date": r.end_date,
                "instructions": r.instructions,
                "quantity_remaining": r.quantity_remaining,
                "quantity_per_dose": r.quantity_per_dose,
                "refill_threshold": r.refill_threshold,
                "prescribed_by": None
                if r.prescribed_by is None
                else {"id": str(r.prescribed_by_id), "name": r.prescribed_by.full_name},
                "is_active": r.is_active,
                "ended_at": r.ended_at,
                "created_at": r.created_at,
            }
            for r in regimens.iterator()
        ),
    )
    logs = DoseLog.objects.filter(user=user).order_by("scheduled_for", "id")
    yield (
        "medication_dose_logs",
        (
            {
                "id": str(log.pk),
                "regimen": str(log.regimen_id),
                "scheduled_for": log.scheduled_for,
                "status": log.status,
                "taken_at": log.taken_at,
                "as_needed": not log.scheduled,
            }
            for log in logs.iterator()
        ),
    )
