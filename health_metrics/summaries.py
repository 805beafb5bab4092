"""Summaries: count, min, max and average of a person's readings per local day, ISO week or month.

Rollups (`HealthMetricSummary`) hold whole periods and are recomputed from the readings, never incremented:
a refresh aggregates the touched buckets in SQL and replaces their rows, so running it twice, late or out of
order gives the same rows. The summary read uses rollups for the whole periods inside the requested dates and
aggregates in SQL for the rest: partial periods at either end, ranges with writes still pending a refresh,
rollups computed in another timezone than the profile's now. Suspect readings are left out everywhere.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from accounts.models import UserProfile
from jeghealth_backend.metric_catalog import CATALOG, MetricSpec

from .arbitration import counted
from .models import DayBasis, HealthMetric, HealthMetricSummary, PendingRollup, Period, Quality
from .periods import (
    MAX_OFFSET,
    RecordedLocal,
    bucket_expression,
    local_date,
    local_midnight,
    next_period_start,
    period_start,
    recorded_bucket_expression,
)
from .validation import MAX_INTERVAL

logger = logging.getLogger(__name__)

_BP_COLUMNS = tuple(f"{side}_{fn}" for side in ("systolic", "diastolic") for fn in ("min", "max", "sum"))
_VALUE_COLUMNS = ("min", "max", "sum")
# Pending refreshes older than this were lost (broker down, worker killed): beat picks them up.
STALE_PENDING = timedelta(minutes=5)
# The nightly reconciliation recomputes this much recent history for everybody who recorded readings in it.
RECONCILE_WINDOW = timedelta(days=2)


def _columns(spec: MetricSpec) -> tuple[str, ...]:
    return _BP_COLUMNS if spec.is_blood_pressure else _VALUE_COLUMNS


def _aggregates(spec: MetricSpec) -> dict[str, Any]:
    aggregates: dict[str, Any] = {"count": Count("id")}
    sides = ("systolic", "diastolic") if spec.is_blood_pressure else ("",)
    for side in sides:
        field = f"{side}_value" if side else "value"
        for name, function in (("min", Min), ("max", Max), ("sum", Sum)):
            aggregates[f"{side}_{name}" if side else name] = function(field)
    return aggregates


def aggregate_buckets(
    *,
    user_id,
    metric_type: str,
    period: str,
    tz: tzinfo,
    first_day: date,
    end_day: date,
    day_basis: str = DayBasis.PROFILE,
) -> dict[date, dict[str, Any]]:
    """Buckets of readings recorded from local FIRST_DAY up to (not including) local END_DAY, aggregated in
    SQL: `{period_start: {"count", "min", "max", "sum"}}` (blood pressure: `systolic_min` … `diastolic_sum`).
    Local is TZ's calendar, or with `day_basis=recorded` each reading's own (the offset it was sent with)."""
    spec = CATALOG[metric_type]
    readings = HealthMetric.objects.filter(user_id=user_id, metric_type=metric_type, quality=Quality.OK)
    if day_basis == DayBasis.RECORDED:
        first, end = local_midnight(first_day, UTC), local_midnight(end_day, UTC)
        # The index narrows to the instants any offset can put on those dates; the reading's own clock decides.
        readings = (
            readings.filter(recorded_at__gte=first - MAX_OFFSET, recorded_at__lt=end + MAX_OFFSET)
            .alias(_local=RecordedLocal())
            .filter(_local__gte=first, _local__lt=end)
        )
        bucket = recorded_bucket_expression(period)
    else:
        readings = readings.filter(
            recorded_at__gte=local_midnight(first_day, tz), recorded_at__lt=local_midnight(end_day, tz)
        )
        bucket = bucket_expression(period, tz)
    rows = (
        counted(readings, user_id=user_id, metric_types=[metric_type])
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(**_aggregates(spec))
        .order_by("bucket")
    )
    return {row.pop("bucket"): row for row in rows}


# --- rollups ------------------------------------------------------------------------------------------


def _profile_tz(user_id) -> tzinfo | None:
    profile = UserProfile.objects.filter(user_id=user_id).first()
    return profile.tzinfo if profile is not None else None


def _lock(user_id, metric_type: str) -> None:
    """Serialise refreshes of one person's type: the second waits and then aggregates what the first saw and
    more. Without it, a refresh that read earlier could commit last and leave older numbers behind."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"hm-rollup:{user_id}:{metric_type}"]
            )
    # SQLite: the settings open every transaction IMMEDIATE, so writers are serialised already.


def _reach(metric_type: str, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The instants whose readings a change from START to END can affect: for interval types, a reading a day
    either side may be hidden or revealed by it (source arbitration, validation.MAX_INTERVAL)."""
    if CATALOG[metric_type].target_aggregate == "sum":
        return start - MAX_INTERVAL, end + MAX_INTERVAL
    return start, end


def rollups_refresh(*, user_id, metric_type: str, start: datetime, end: datetime) -> None:
    """Recompute the daily, weekly and monthly rollups of every bucket holding an instant from START to END.

    The days touched are aggregated from the readings; their weeks and months from the daily rollups (count,
    min, max and sum add up exactly), so a batch landing in a month reads its few days, not the whole month
    again. Every write refreshes its days through here, so the dailies a week or month adds up are current.
    """
    tz = _profile_tz(user_id)
    if tz is None:  # the account is gone
        return
    start, end = _reach(metric_type, start, end)
    first, last = local_date(start, tz), local_date(end, tz)
    spec = CATALOG[metric_type]
    with transaction.atomic():
        _lock(user_id, metric_type)
        now = timezone.now()
        for period in Period.values:  # daily first: the longer periods add its rows up
            bucket_from = period_start(first, period)
            bucket_to = next_period_start(period_start(last, period), period)
            buckets = None
            if period != Period.DAILY:
                buckets = _buckets_from_daily(user_id, spec, period, tz, bucket_from, bucket_to)
            if buckets is None:
                buckets = aggregate_buckets(
                    user_id=user_id,
                    metric_type=metric_type,
                    period=period,
                    tz=tz,
                    first_day=bucket_from,
                    end_day=bucket_to,
                )
            _replace_buckets(user_id, metric_type, period, tz, bucket_from, bucket_to, buckets, now)


def _buckets_from_daily(
    user_id, spec: MetricSpec, period: str, tz: tzinfo, first_day: date, end_day: date
) -> dict[date, dict[str, Any]] | None:
    """The PERIOD buckets from local FIRST_DAY to END_DAY added up from the daily rollups, or None when some
    of those are of another timezone (the person moved: aggregate the readings instead)."""
    columns = _columns(spec)
    dailies = list(
        HealthMetricSummary.objects.filter(
            user_id=user_id,
            metric_type=spec.metric_type,
            period=Period.DAILY,
            period_start__gte=first_day,
            period_start__lt=end_day,
        ).values("period_start", "tz_name", "count", *columns)
    )
    if any(row["tz_name"] != tz.key for row in dailies):
        return None
    buckets: dict[date, dict[str, Any]] = {}
    for row in sorted(dailies, key=lambda r: r["period_start"]):
        bucket = buckets.setdefault(period_start(row["period_start"], period), {"count": 0})
        bucket["count"] += row["count"]
        for column in columns:
            value, held = row[column], bucket.get(column)
            if value is None or held is None:
                bucket[column] = held if value is None else value
            elif column.endswith("min"):
                bucket[column] = min(held, value)
            elif column.endswith("max"):
                bucket[column] = max(held, value)
            else:
                bucket[column] = held + value
    return buckets


def _replace_buckets(user_id, metric_type: str, period: str, tz, bucket_from, bucket_to, buckets, now) -> None:
    HealthMetricSummary.objects.filter(
        user_id=user_id,
        metric_type=metric_type,
        period=period,
        period_start__gte=bucket_from,
        period_start__lt=bucket_to,
    ).delete()
    HealthMetricSummary.objects.bulk_create(
        [
            HealthMetricSummary(
                user_id=user_id,
                metric_type=metric_type,
                period=period,
                period_start=day,
                tz_name=tz.key,
                computed_at=now,
                **row,
            )
            for day, row in buckets.items()
        ],
        batch_size=500,
    )


def rollups_refresh_pending(*, pending: list[PendingRollup]) -> int:
    """Refresh the ranges PENDING names (merged per person and type), then drop those rows in the same
    transaction; returns how many were handled. Rows already handled by another run are simply gone."""
    groups: dict[tuple, list[PendingRollup]] = {}
    for mark in pending:
        groups.setdefault((mark.user_id, mark.metric_type), []).append(mark)
    for (user_id, metric_type), marks in groups.items():
        with transaction.atomic():
            rollups_refresh(
                user_id=user_id,
                metric_type=metric_type,
                start=min(m.start for m in marks),
                end=max(m.end for m in marks),
            )
            PendingRollup.objects.filter(pk__in=[m.pk for m in marks]).delete()
    return len(pending)


def rollups_sweep(*, now: datetime) -> int:
    """Refresh pending ranges whose task never ran (older than STALE_PENDING)."""
    stale = list(PendingRollup.objects.filter(created_at__lt=now - STALE_PENDING).order_by("created_at")[:5000])
    return rollups_refresh_pending(pending=stale)


def rollups_rebuild(*, user_id) -> int:
    """Recompute every rollup of one person from all their readings, in their profile's timezone now (after a
    move, or readings loaded without `metrics_changed`). Returns the number of types recomputed."""
    spans = list(
        HealthMetric.objects.filter(user_id=user_id)
        .values("metric_type")
        .annotate(first=Min("recorded_at"), last=Max("recorded_at"))
        .order_by("metric_type")
    )
    with transaction.atomic():
        # Buckets of an old calendar can lie outside every bucket of the new one: start from nothing.
        HealthMetricSummary.objects.filter(user_id=user_id).delete()
        for span in spans:
            rollups_refresh(user_id=user_id, metric_type=span["metric_type"], start=span["first"], end=span["last"])
    return len(spans)


def rollups_reconcile(*, now: datetime) -> int:
    """Nightly: sweep lost refreshes; rebuild people whose rollups are in another timezone than their profile's
    (they moved); recompute the last RECONCILE_WINDOW for everybody with readings in it, which also covers
    readings stored without `metrics_changed`. Returns the number of (person, type) ranges recomputed."""
    done = rollups_sweep(now=now)
    moved = (
        HealthMetricSummary.objects.exclude(tz_name=F("user__profile__timezone"))
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in list(moved):
        done += rollups_rebuild(user_id=user_id)
    recent = (
        HealthMetric.objects.filter(recorded_at__gte=now - RECONCILE_WINDOW, recorded_at__lte=now)
        .values_list("user_id", "metric_type")
        .distinct()
    )
    for user_id, metric_type in list(recent):
        rollups_refresh(user_id=user_id, metric_type=metric_type, start=now - RECONCILE_WINDOW, end=now)
        done += 1
    logger.info("health_metrics_rollups_reconciled", extra={"ranges": done})
    return done


# --- the summary read ------------------------------------------------------------------------------------


def summary_buckets(
    *,
    user_id,
    metric_type: str,
    period: str,
    tz: tzinfo,
    start_date: date,
    end_date: date,
    use_rollups: bool = True,
    day_basis: str = DayBasis.PROFILE,
) -> dict[date, dict[str, Any]]:
    """Buckets with readings from local START_DATE to END_DATE (both included), keyed by period start.

    Whole periods inside the range come from rollups when they can be trusted: no refresh pending over them,
    all computed in the profile's timezone. The partial periods at the ends, and everything when rollups
    cannot be trusted, are aggregated in SQL.
    """
    after_end = end_date + timedelta(days=1)
    if day_basis == DayBasis.RECORDED:
        # Rollups are of the profile's calendar: each reading's own calendar is aggregated from the readings.
        return aggregate_buckets(
            user_id=user_id,
            metric_type=metric_type,
            period=period,
            tz=tz,
            first_day=start_date,
            end_day=after_end,
            day_basis=day_basis,
        )
    inner_from = period_start(start_date, period)
    if inner_from != start_date:
        inner_from = next_period_start(inner_from, period)
    inner_to = period_start(after_end, period)
    buckets = None
    if use_rollups and inner_from < inner_to:
        buckets = _trusted_rollups(user_id, metric_type, period, tz, inner_from, inner_to)
    if buckets is None:
        return aggregate_buckets(
            user_id=user_id, metric_type=metric_type, period=period, tz=tz, first_day=start_date, end_day=after_end
        )
    for first_day, end_day in ((start_date, inner_from), (inner_to, after_end)):
        if first_day < end_day:
            buckets.update(
                aggregate_buckets(
                    user_id=user_id, metric_type=metric_type, period=period, tz=tz, first_day=first_day, end_day=end_day
                )
            )
    return dict(sorted(buckets.items()))


def _trusted_rollups(user_id, metric_type: str, period: str, tz, first_day: date, end_day: date) -> dict | None:
    """The rollups of the whole periods from FIRST_DAY to END_DAY, or None when they cannot be trusted."""
    start, end = local_midnight(first_day, tz), local_midnight(end_day, tz)
    start, end = _reach(metric_type, start, end)
    if PendingRollup.objects.filter(user_id=user_id, metric_type=metric_type, start__lt=end, end__gte=start).exists():
        return None
    rows = HealthMetricSummary.objects.filter(
        user_id=user_id,
        metric_type=metric_type,
        period=period,
        period_start__gte=first_day,
        period_start__lt=end_day,
    ).values("period_start", "tz_name", "count", *_columns(CATALOG[metric_type]))
    buckets = {}
    tz_name = getattr(tz, "key", str(tz))
    for row in rows:
        if row.pop("tz_name") != tz_name:
            return None  # computed before the person moved: stale until the nightly rebuild
        buckets[row.pop("period_start")] = row
    return buckets


def present_bucket(spec: MetricSpec, period_start_day: date, row: dict[str, Any]) -> dict[str, Any]:
    """A bucket as the API answers it: `{period_start, count, min, max, avg}`, or for blood pressure
    `{period_start, count, systolic: {min, max, avg}, diastolic: {min, max, avg}}`."""
    count = row["count"]
    bucket: dict[str, Any] = {"period_start": period_start_day.isoformat(), "count": count}
    if spec.is_blood_pressure:
        for side in ("systolic", "diastolic"):
            bucket[side] = {
                "min": row[f"{side}_min"],
                "max": row[f"{side}_max"],
                "avg": _average(row[f"{side}_sum"], count),
            }
    else:
        bucket.update(min=row["min"], max=row["max"], avg=_average(row["sum"], count))
    return bucket


def _average(total: float | None, count: int) -> float | None:
    return round(total / count, 2) if count and total is not None else None
