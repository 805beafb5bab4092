"""The contents of a health summary, gathered before anything is drawn: the person, and per metric type the
period's statistics and trend, the points to chart, the flagged readings and the targets; then medication
adherence and the upcoming appointments. Every read is scoped to the report's owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.db.models import Q

from accounts.access import grant_covers
from accounts.choices import CareScope
from health_metrics import selectors as metric_selectors
from health_metrics.models import HealthMetricTarget, Quality
from health_metrics.periods import local_midnight
from jeghealth_backend.metric_catalog import CATALOG, METRIC_TYPES, MetricSpec

from . import sources
from .daily import Day, daily_rows
from .models import Report
from .statistics import is_per_day, sides, trend, window_stats

# Up to this many readings in the period a chart shows each one; past it, the daily averages and ranges.
RAW_POINTS_LIMIT = 400
ANOMALY_MARKERS_LIMIT = 300
ANOMALY_ROWS = 8
REGIMEN_ROWS = 12
APPOINTMENT_ROWS = 12


@dataclass
class MetricSection:
    spec: MetricSpec
    days: dict[date, Day]
    stats: dict[str, dict[str, Any]]
    trends: dict[str, dict[str, Any]]
    # Raw points: (local time, {"value"| "systolic"/"diastolic": number}); empty when `days` is charted instead.
    points: list[tuple[datetime, dict[str, float]]]
    anomalies: list[dict[str, Any]]
    targets: list[HealthMetricTarget]

    @property
    def per_day(self) -> bool:
        return is_per_day(self.spec)


@dataclass
class HealthSummary:
    report: Report
    user: Any
    tz: tzinfo
    generated_at: datetime
    metrics: list[MetricSection] = field(default_factory=list)
    adherence: dict[str, Any] | None = None
    regimens: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def period_days(self) -> int:
        return (self.report.end_date - self.report.start_date).days + 1


def gather(*, report: Report, now: datetime) -> HealthSummary:
    user = report.subject
    tz = user.profile.tzinfo
    start, end = report.start_date, report.end_date
    length = (end - start).days + 1
    wanted = report.metric_types or list(METRIC_TYPES)
    # The period and the one of the same length before it, for the trend.
    daily = daily_rows(
        user_id=user.pk, tz=tz, first_day=start - timedelta(days=length), last_day=end, metric_types=wanted
    )
    summary = HealthSummary(report=report, user=user, tz=tz, generated_at=now)
    targets = _targets(user=user, start=start, end=end)
    for metric_type in METRIC_TYPES:
        days = daily.get(metric_type, {})
        in_period = {key: day for key, day in days.items() if start <= key <= end}
        if metric_type not in wanted or not in_period:
            continue
        spec = CATALOG[metric_type]
        count = sum(day.count for day in in_period.values())
        summary.metrics.append(
            MetricSection(
                spec=spec,
                days=in_period,
                stats={side: window_stats(spec, days, start, end, side) for side in sides(spec)},
                trends={side: trend(spec, days, end, length, side) for side in sides(spec)},
                points=_points(user, spec, tz, start, end)
                if count <= RAW_POINTS_LIMIT and not is_per_day(spec)
                else [],
                anomalies=_anomalies(user, spec, tz, start, end),
                targets=[t for t in targets if t.metric_type == metric_type],
            )
        )
    # A doctor's report of a patient shows medications and appointments only under grants of those scopes too.
    if _may_show(report, CareScope.MEDICATIONS):
        summary.adherence = sources.adherence(user=user, start_date=start, end_date=end, now=now)
        summary.regimens = sources.active_regimens(user=user, limit=REGIMEN_ROWS)
    if _may_show(report, CareScope.APPOINTMENTS):
        summary.appointments = sources.upcoming_appointments(user=user, now=now, limit=APPOINTMENT_ROWS)
    return summary


def _may_show(report: Report, scope: str) -> bool:
    if report.subject.pk == report.user_id:
        return True
    return grant_covers(grantee=report.user, patient_id=report.patient_id, scope=scope)


def _period_readings(user, spec: MetricSpec, tz: tzinfo, start: date, end: date):
    return metric_selectors.metric_queryset(user=user).filter(
        metric_type=spec.metric_type,
        quality=Quality.OK,
        recorded_at__gte=local_midnight(start, tz),
        recorded_at__lt=local_midnight(end + timedelta(days=1), tz),
    )


def _points(user, spec: MetricSpec, tz: tzinfo, start: date, end: date) -> list[tuple[datetime, dict[str, float]]]:
    rows = (
        _period_readings(user, spec, tz, start, end)
        .order_by("recorded_at")
        .values_list("recorded_at", "value", "systolic_value", "diastolic_value")
    )
    points = []
    for recorded_at, value, systolic, diastolic in rows:
        values = {"systolic": systolic, "diastolic": diastolic} if spec.is_blood_pressure else {"value": value}
        points.append((recorded_at.astimezone(tz), values))
    return points


def _anomalies(user, spec: MetricSpec, tz: tzinfo, start: date, end: date) -> list[dict[str, Any]]:
    rows = (
        _period_readings(user, spec, tz, start, end)
        .filter(is_anomaly=True)
        .order_by("-recorded_at")
        .values("recorded_at", "value", "systolic_value", "diastolic_value", "anomaly_reason")[:ANOMALY_MARKERS_LIMIT]
    )
    return [{**row, "recorded_at": row["recorded_at"].astimezone(tz)} for row in rows]


def _targets(*, user, start: date, end: date) -> list[HealthMetricTarget]:
    return list(
        metric_selectors.target_queryset(user=user)
        .filter(start_date__lte=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
    )
