"""Reports as the API stores them, and a person's reading history written in bulk (fast, any size)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import factory
from django.conf import settings
from django.utils import timezone

from health_metrics.models import HealthMetric
from jeghealth_backend.metric_catalog import CATALOG, METRIC_TYPES
from reports.models import Report
from tests.accounts.factories import UserFactory


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    user = factory.SubFactory(UserFactory)
    report_type = "health_summary"
    format = "pdf"
    start_date = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=29))
    end_date = factory.LazyFunction(lambda: timezone.now().date())
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=settings.REPORT_RETENTION_DAYS))


def _value(metric_type: str, day_index: int, slot: int) -> dict:
    """A plausible reading of METRIC_TYPE on the DAY_INDEX-th day (0 = oldest), SLOT-th of the day."""
    d, s = day_index, slot
    if metric_type == "blood_pressure":
        return {"systolic_value": 118.0 + d % 7 + s, "diastolic_value": 76.0 + d % 5}
    values = {
        "heart_rate": 66.0 + (d * 3 + s) % 12,
        "weight": round(82.0 - d * 0.03, 2),
        "blood_sugar": 95.0 + (d * 7 + s) % 20,
        "temperature": 36.5 + (d % 3) / 10,
        "oxygen_saturation": 96.0 + d % 3,
        "steps": 1500.0 + (d % 5) * 400 + s * 10,
        "sleep_hours": 7.5 - (d % 4) * 0.25,
        "calories": 450.0 + (d % 6) * 20,
        "bmi": 25.1,
        "body_fat_percentage": 23.0 - (d % 4) / 10,
        "muscle_mass": 34.0 + (d % 3) / 10,
    }
    return {"value": values[metric_type]}


def add_history(
    user,
    *,
    days: int = 30,
    per_day: int = 1,
    end: date | None = None,
    metric_types=METRIC_TYPES,
    device=None,
    anomaly_days: tuple[int, ...] = (),
) -> int:
    """Bulk-store PER_DAY readings of each of METRIC_TYPES on each of DAYS local days ending on END (today).

    Readings fall between 06:00 and 22:00 local time, never after now (see below). On the days of ANOMALY_DAYS
    (0 = the oldest) the first blood pressure reading is a flagged crisis reading. Returns how many readings were
    stored.
    """
    tz = ZoneInfo(user.profile.timezone or "UTC")
    end = end or timezone.now().astimezone(tz).date()
    first = end - timedelta(days=days - 1)
    now = timezone.now()
    step = timedelta(minutes=max(1, 16 * 60 // max(per_day, 1)))
    rows = []
    for index in range(days):
        day = first + timedelta(days=index)
        start = datetime.combine(day, time(6), tzinfo=tz)
        for slot in range(per_day):
            at = start + step * slot
            if at > now:
                # Today's slots still ahead go just before now, in order: every day holds its readings whatever
                # the hour the test runs at (before 06:00 today would otherwise hold none).
                at = now - timedelta(seconds=per_day - slot)
            for metric_type in metric_types:
                values = _value(metric_type, index, slot)
                flagged = metric_type == "blood_pressure" and slot == 0 and index in anomaly_days
                if flagged:
                    values = {"systolic_value": 186.0, "diastolic_value": 112.0}
                rows.append(
                    HealthMetric(
                        id=uuid.uuid4(),
                        user=user,
                        metric_type=metric_type,
                        unit=CATALOG[metric_type].unit,
                        recorded_at=at,
                        source="device" if device else "manual",
                        device=device,
                        is_manual_entry=device is None,
                        is_anomaly=flagged,
                        anomaly_reason="critical: systolic above 180 mmHg (hypertensive crisis)" if flagged else "",
                        created_at=now,
                        **values,
                    )
                )
    HealthMetric.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def start_regimen(user, *, name: str = "Lisinopril", days_ago: int = 10, times=("08:00",), frequency="once_daily"):
    """A regimen USER started DAYS_AGO days ago, through the medications service (doses derived since then)."""
    from decimal import Decimal

    from medications.services import regimen_create

    now = timezone.now() - timedelta(days=days_ago)
    result = regimen_create(
        user=user,
        data={
            "name": name,
            "dosage": Decimal("10"),
            "dosage_unit": "mg",
            "form": "tablet",
            "frequency": frequency,
            "schedule_times": list(times),
            "start_date": now.astimezone(ZoneInfo(user.profile.timezone or "UTC")).date(),
        },
        now=now,
    )
    return result.regimen


def reading_days_ago(user, metric_type: str, days_ago: int, **values) -> HealthMetric:
    """One reading DAYS_AGO days before now (so on that local day for a UTC person), stored directly."""
    if "value" not in values and metric_type != "blood_pressure":
        raise ValueError("value is required")
    now = timezone.now()
    return HealthMetric.objects.create(
        user=user,
        metric_type=metric_type,
        unit=CATALOG[metric_type].unit,
        recorded_at=now - timedelta(days=days_ago, minutes=1),
        created_at=now,
        **values,
    )
