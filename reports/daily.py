"""A person's readings per local day, every metric type in one GROUP BY: the base of trends, insights and the
report's statistics.

One query however long the history: the (user, recorded_at) index bounds the rows to the window and the database
aggregates them. Suspect readings are left out, as in health_metrics' summaries and trends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from django.db.models import Count, Max, Min, Q, Sum

from health_metrics.arbitration import counted
from health_metrics.models import HealthMetric, Period, Quality
from health_metrics.periods import bucket_expression, local_midnight
from jeghealth_backend.metric_catalog import CATALOG


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of one metric type: count, sum, min and max of each value field, and flagged readings."""

    count: int
    anomalies: int
    value: tuple[float | None, float | None, float | None] = (None, None, None)
    systolic: tuple[float | None, float | None, float | None] = (None, None, None)
    diastolic: tuple[float | None, float | None, float | None] = (None, None, None)

    def side(self, name: str) -> tuple[float | None, float | None, float | None]:
        """(sum, min, max) of NAME: `value`, `systolic` or `diastolic`."""
        return getattr(self, name)


Daily = dict[str, dict[date, Day]]


def _aggregates() -> dict:
    aggregates: dict = {"count": Count("id"), "anomalies": Count("id", filter=Q(is_anomaly=True))}
    for side, field in (("value", "value"), ("systolic", "systolic_value"), ("diastolic", "diastolic_value")):
        aggregates[f"{side}_sum"] = Sum(field)
        aggregates[f"{side}_min"] = Min(field)
        aggregates[f"{side}_max"] = Max(field)
    return aggregates


def daily_rows(
    *, user_id, tz: tzinfo, first_day: date, last_day: date, metric_types: Iterable[str] | None = None
) -> Daily:
    """`{metric_type: {local day: Day}}` for local days FIRST_DAY..LAST_DAY (both included)."""
    readings = HealthMetric.objects.filter(
        user_id=user_id,
        quality=Quality.OK,
        recorded_at__gte=local_midnight(first_day, tz),
        recorded_at__lt=local_midnight(last_day + timedelta(days=1), tz),
    )
    if metric_types is not None:
        readings = readings.filter(metric_type__in=list(metric_types))
    # Overlapping sources count once (health_metrics.arbitration).
    readings = counted(readings, user_id=user_id, metric_types=metric_types if metric_types is not None else CATALOG)
    rows = (
        readings.annotate(day=bucket_expression(Period.DAILY, tz))
        .values("metric_type", "day")
        .annotate(**_aggregates())
        .order_by("metric_type", "day")
    )
    daily: Daily = {}
    for row in rows:
        if row["metric_type"] not in CATALOG:
            continue
        daily.setdefault(row["metric_type"], {})[row["day"]] = Day(
            count=row["count"],
            anomalies=row["anomalies"],
            value=(row["value_sum"], row["value_min"], row["value_max"]),
            systolic=(row["systolic_sum"], row["systolic_min"], row["systolic_max"]),
            diastolic=(row["diastolic_sum"], row["diastolic_min"], row["diastolic_max"]),
        )
    return daily
