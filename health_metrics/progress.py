"""Progress of a target: one entry per period of the person's calendar, from the target's start to the
current period (or its end date), with the period's value, whether it met the target, and the streak.

A period's value is the catalog's `target_aggregate` of the readings in it, computed in SQL: `sum` (steps,
calories, sleep: the day's, week's or month's total), `last` (weight, muscle mass, body fat, BMI: the period's
last reading) or `avg` (everything else; blood pressure targets use the systolic value). Readings before the
start date or after the end date do not count; suspect readings never do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Max, Sum

from jeghealth_backend.metric_catalog import CATALOG

from .arbitration import counted
from .models import HealthMetric, HealthMetricTarget, Quality, TargetType
from .periods import bucket_expression, local_midnight, local_today, next_period_start, period_start, period_starts


def target_progress(*, target: HealthMetricTarget, now: datetime) -> dict[str, Any]:
    tz = target.user.profile.tzinfo
    today = local_today(tz, now)
    last_day = min(today, target.end_date) if target.end_date else today
    starts = period_starts(target.start_date, last_day, target.period) if target.start_date <= last_day else []
    values = _period_values(target, tz, last_day) if starts else {}

    periods = [
        {"period_start": start, "value": values.get(start), "met": _met(target, values.get(start))} for start in starts
    ]
    return {
        "target": target,
        "periods": periods,
        "periods_met": sum(1 for p in periods if p["met"]),
        "periods_total": len(periods),
        "current_streak": _streak(periods),
    }


def _period_values(target: HealthMetricTarget, tz, last_day: date) -> dict[date, float]:
    spec = CATALOG[target.metric_type]
    field = "systolic_value" if spec.is_blood_pressure else "value"
    end_day = next_period_start(period_start(last_day, target.period), target.period)
    if target.end_date:
        end_day = min(end_day, target.end_date + timedelta(days=1))
    readings = HealthMetric.objects.filter(
        user_id=target.user_id,
        metric_type=target.metric_type,
        quality=Quality.OK,
        recorded_at__gte=local_midnight(target.start_date, tz),
        recorded_at__lt=local_midnight(end_day, tz),
    )
    readings = counted(readings, user_id=target.user_id, metric_types=[target.metric_type]).annotate(
        bucket=bucket_expression(target.period, tz)
    )
    grouped = readings.values("bucket").order_by("bucket")
    if spec.target_aggregate in ("sum", "avg"):
        function = Sum if spec.target_aggregate == "sum" else Avg
        return {row["bucket"]: round(row["v"], 4) for row in grouped.annotate(v=function(field))}
    # The period's last reading: the newest instant per bucket, then the readings at those instants.
    newest = {row["bucket"]: row["at"] for row in grouped.annotate(at=Max("recorded_at"))}
    at_instants = readings.filter(recorded_at__in=list(newest.values())).order_by("recorded_at", "created_at")
    values: dict[date, float] = {}
    for reading in at_instants.values("bucket", "recorded_at", field):
        if newest.get(reading["bucket"]) == reading["recorded_at"]:
            values[reading["bucket"]] = reading[field]  # ties: the one stored last wins
    return values


def _met(target: HealthMetricTarget, value: float | None) -> bool:
    if value is None:
        return False
    if target.target_type == TargetType.MINIMUM:
        return value >= target.target_value
    if target.target_type == TargetType.MAXIMUM:
        return value <= target.target_value
    return target.min_value <= value <= target.max_value


def _streak(periods: list[dict]) -> int:
    """Met periods running up to the current one, or up to the one before while the current is not met yet."""
    run = list(reversed(periods))
    if run and not run[0]["met"]:
        run = run[1:]
    streak = 0
    for period in run:
        if not period["met"]:
            break
        streak += 1
    return streak
