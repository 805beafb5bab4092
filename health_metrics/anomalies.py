"""Anomaly detection of stored readings, and `on_anomaly`, the boundary to notifications.

A reading is anomalous when (1) it crosses a default clinical alert threshold of the catalog (a value, or
for weight a change over a window: the heart-failure fluid rule and 5 % loss in 30 days), or (2) its robust
z-score against the person's own last 30 days of that type is above 3.5: 0.6745 * (x - median) / MAD, with at
least 10 readings and a MAD above zero (Iglewicz and Hoaglin). Suspect readings get thresholds only: a likely
measurement error says nothing about the person's own spread.

Detection loads readings from the database, so it covers readings stored by raw SQL (IoT ingestion), and is
idempotent: a reading is flagged by a conditional update (`is_anomaly` false → true) and only the run that
flips it calls `on_anomaly`, so a redelivered task notifies nobody twice.
"""

from __future__ import annotations

import logging
import operator
import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Max, Min, Q

from jeghealth_backend.metric_catalog import CATALOG, MetricSpec
from jeghealth_backend.person_cache import person_data_changed
from notifications.services import anomaly_notify

from .models import HealthMetric, PendingAnomalyCheck, Quality
from .selectors import BatchReadings, readings_written

logger = logging.getLogger(__name__)

Z_THRESHOLD = 3.5
Z_CONSTANT = 0.6745
BASELINE_WINDOW = timedelta(days=30)
BASELINE_MIN_READINGS = 10
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_Z_FIELDS = {True: ("systolic_value", "diastolic_value"), False: ("value",)}


def on_anomaly(metric: HealthMetric) -> None:
    """Called once per reading, after it is first flagged, with `is_anomaly` and `anomaly_reason` set.

    Hands the reading to the notifications service, which tells the person once per reading (critical when
    a clinical threshold's reason says so). Logs the reading's id and the reason; never the value.
    """
    logger.warning(
        "health_metric_anomaly",
        extra={"metric_id": str(metric.pk), "user_id": str(metric.user_id), "reason": metric.anomaly_reason},
    )
    anomaly_notify(reading=metric)


def anomalies_detect(*, user_id, metric_ids: Iterable = (), batch: BatchReadings | None = None) -> int:
    """Flag USER_ID's readings METRIC_IDS (or those of a device BATCH) that are anomalous; returns how many this
    run flagged."""
    readings = list(readings_written(user_id=user_id, ids=metric_ids, batch=batch).order_by("recorded_at"))
    baselines: dict[tuple, tuple[int, float | None, float | None]] = {}
    flagged = 0
    for reading in readings:
        spec = CATALOG.get(reading.metric_type)
        if spec is None:
            continue
        reasons = threshold_reasons(spec, reading) + _change_reasons(spec, reading)
        if reading.quality == Quality.OK:
            reasons += _zscore_reasons(spec, reading, baselines)
        if not reasons:
            continue
        reason = "; ".join(reasons)[:255]
        claimed = HealthMetric.objects.filter(pk=reading.pk, is_anomaly=False).update(
            is_anomaly=True, anomaly_reason=reason
        )
        if claimed:
            reading.is_anomaly, reading.anomaly_reason = True, reason
            flagged += 1
            on_anomaly(reading)
    if flagged:
        # Flags show in the reading list and in cached latest values.
        person_data_changed(user_id)
    return flagged


def threshold_reasons(spec: MetricSpec, reading) -> list[str]:
    """The catalog thresholds READING crosses: per value field and direction, the most severe one (the catalog
    lists critical before warning)."""
    reasons, seen = [], set()
    for threshold in spec.thresholds:
        direction = (threshold.field, threshold.op[0])
        value = getattr(reading, threshold.field)
        if direction in seen or value is None:
            continue
        if _OPS[threshold.op](value, threshold.bound):
            seen.add(direction)
            reasons.append(threshold.reason)
    return reasons


def _change_reasons(spec: MetricSpec, reading: HealthMetric) -> list[str]:
    if not spec.change_rules or reading.value is None:
        return []
    moment = reading.recorded_at
    references = {}
    for index, rule in enumerate(spec.change_rules):
        function = Min if rule.kind == "gain" else Max
        references[f"r{index}"] = function("value", filter=Q(recorded_at__gte=moment - rule.window))
    found = (
        HealthMetric.objects.filter(
            user_id=reading.user_id,
            metric_type=reading.metric_type,
            quality=Quality.OK,
            recorded_at__gte=moment - max(rule.window for rule in spec.change_rules),
            recorded_at__lt=moment,
        )
        .exclude(pk=reading.pk)
        .aggregate(**references)
    )
    reasons = []
    for index, rule in enumerate(spec.change_rules):
        reference = found[f"r{index}"]
        if reference is None or reference <= 0:
            continue
        change = reading.value - reference if rule.kind == "gain" else reference - reading.value
        if rule.relative:
            change = change / reference * 100
        # METRICS.md: a gain of *more than* the amount, a loss of the amount *or more*.
        if change > rule.amount if rule.kind == "gain" else change >= rule.amount:
            reasons.append(rule.reason)
    return reasons


def _zscore_reasons(spec: MetricSpec, reading: HealthMetric, baselines: dict) -> list[str]:
    # One baseline per type, field and hour: a device batch of thousands of readings needs a few dozen.
    hour = reading.recorded_at.replace(minute=0, second=0, microsecond=0)
    reasons = []
    for field in _Z_FIELDS[spec.is_blood_pressure]:
        key = (reading.metric_type, field, hour)
        if key not in baselines:
            baselines[key] = robust_baseline(
                user_id=reading.user_id,
                metric_type=reading.metric_type,
                field=field,
                start=hour - BASELINE_WINDOW,
                end=hour,
            )
        count, median, mad = baselines[key]
        if count < BASELINE_MIN_READINGS or not mad:
            continue
        score = Z_CONSTANT * (getattr(reading, field) - median) / mad
        if abs(score) > Z_THRESHOLD:
            name = field.removesuffix("_value").replace("_", " ")
            reasons.append(f"unusual {name} for this person (robust z-score above {Z_THRESHOLD:g} over 30 days)")
    return reasons


def robust_baseline(*, user_id, metric_type: str, field: str, start: datetime, end: datetime):
    """(count, median, MAD) of the person's trusted FIELD values recorded in [START, END)."""
    if field not in ("value", "systolic_value", "diastolic_value"):
        raise ValueError(field)
    if connection.vendor == "postgresql":
        table = HealthMetric._meta.db_table
        # FIELD is one of three column names checked above; every value is a bound parameter.
        sql = f"""
            WITH w AS (
                SELECT {field} AS v FROM {table}
                WHERE user_id = %s AND metric_type = %s AND quality = %s AND recorded_at >= %s AND recorded_at < %s
            ), m AS (SELECT count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med FROM w)
            SELECT m.n, m.med, (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(w.v - m.med)) FROM w) FROM m
        """  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id, metric_type, Quality.OK.value, start, end])
            count, median, mad = cursor.fetchone()
        return count, median, mad
    # Without percentile functions (SQLite in development and tests) the window's values are few enough to
    # sort here.
    values = list(
        HealthMetric.objects.filter(
            user_id=user_id, metric_type=metric_type, quality=Quality.OK, recorded_at__gte=start, recorded_at__lt=end
        ).values_list(field, flat=True)
    )
    if not values:
        return 0, None, None
    median = statistics.median(values)
    return len(values), median, statistics.median([abs(v - median) for v in values])


STALE_CHECK = timedelta(minutes=5)


def anomaly_checks_sweep(*, now: datetime, limit: int = 500) -> int:
    """Run detection for readings whose task never ran (broker down, task lost) and forget them once done."""
    stale = list(PendingAnomalyCheck.objects.filter(created_at__lt=now - STALE_CHECK).order_by("created_at")[:limit])
    for check in stale:
        anomalies_detect(user_id=check.user_id, metric_ids=check.reading_ids, batch=check_batch(check))
        PendingAnomalyCheck.objects.filter(pk=check.pk).delete()
    if stale:
        logger.info("health_metrics_anomaly_checks_swept", extra={"count": len(stale)})
    return len(stale)


def check_batch(check: PendingAnomalyCheck) -> BatchReadings | None:
    """The device batch a pending check names, if it names one rather than reading ids."""
    if check.batch_id is None:
        return None
    return BatchReadings(check.batch_id, check.recorded_from, check.recorded_to)
