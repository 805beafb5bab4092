"""Anomaly detection of stored readings: the flags on each reading, and the facts the alert rules judge.

A reading is anomalous when (1) it crosses a default clinical alert threshold of the catalog (a value, or
for weight a change over a window: the heart-failure fluid rule and 5 % loss in 30 days), or (2) its robust
z-score against the person's own 30 days before the reading's day is above 3.5: 0.6745 * (x - median) / MAD,
with at least 10 readings and a MAD above zero (Iglewicz and Hoaglin). Suspect readings get thresholds only: a
likely measurement error says nothing about the person's own spread.

Detection loads readings from the database, so it covers readings stored by raw SQL (IoT ingestion). Its work
is per write, never per reading: one baseline query per (metric type, day) the write touches, one UPDATE per
distinct reason for the flags, and one hand-over to `alerts.services.readings_judged` of every reading with
what was found (a reading back in range is what closes an alert episode). The flags stay per reading
(`is_anomaly`, `anomaly_reason`); whom to tell, and when, is alerts' business. Run twice for the same write, it
flags nothing twice and alerts tell nobody twice (their cursors and dedupe keys).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day

import psycopg
from django.db import connection, transaction
from django.db.models import Max, Min, Q, QuerySet
from psycopg.rows import namedtuple_row

from alerts.facts import ReadingFact, Upload
from alerts.services import readings_judged
from jeghealth_backend.metric_catalog import CATALOG, MetricSpec
from jeghealth_backend.person_cache import person_data_changed

from .clinical import REASON_MAX, Finding, threshold_findings
from .models import HealthMetric, PendingAnomalyCheck, Quality
from .selectors import BatchReadings, readings_written

logger = logging.getLogger(__name__)

Z_THRESHOLD = 3.5
Z_CONSTANT = 0.6745
BASELINE_WINDOW = timedelta(days=30)
BASELINE_MIN_READINGS = 10
_Z_FIELDS = {True: ("systolic_value", "diastolic_value"), False: ("value",)}
_LEVEL_RANK = {"info": 0, "warning": 1, "critical": 2}
_FIELDS = ("id", "user_id", "metric_type", "value", "systolic_value", "diastolic_value", "unit", "recorded_at",
           "quality", "anomaly_reason")  # fmt: skip


@transaction.atomic
def anomalies_detect(
    *, user_id, metric_ids: Iterable = (), batch: BatchReadings | None = None, upload: Upload | None = None
) -> int:
    """Flag USER_ID's readings METRIC_IDS (or those of a device BATCH) that are anomalous, and hand every one of
    them to the alert rules as the write UPLOAD; returns how many readings this run flagged or re-flagged. One
    transaction: the flags and what alerts make of them commit together."""
    # Plain rows, not model instances: a device batch is thousands of readings.
    readings = _plain_rows(readings_written(user_id=user_id, ids=metric_ids, batch=batch).order_by("recorded_at"))
    baselines = _baselines_needed(user_id, readings)
    to_flag: dict[str, list] = defaultdict(list)
    facts: list[ReadingFact] = []
    for reading in readings:
        spec = CATALOG.get(reading.metric_type)
        if spec is None:
            continue
        findings = threshold_findings(spec, reading) + _change_findings(spec, reading)
        z_reasons, z = ([], None)
        if reading.quality == Quality.OK:
            z_reasons, z = _zscore(spec, reading, baselines)
        reason = "; ".join([f.reason for f in findings] + z_reasons)[:REASON_MAX]
        # Clinical flags were written with the reading (storage): only what history adds needs an UPDATE.
        if reason and reason != reading.anomaly_reason:
            to_flag[reason].append(reading.id)
        worst = max(findings, key=lambda f: (_LEVEL_RANK[f.level], f.excess), default=None)
        facts.append(
            ReadingFact(
                reading_id=reading.id,
                metric_type=reading.metric_type,
                recorded_at=reading.recorded_at,
                value=reading.value,
                systolic_value=reading.systolic_value,
                diastolic_value=reading.diastolic_value,
                unit=reading.unit,
                suspect=reading.quality == Quality.SUSPECT,
                clinical=worst.level if worst else None,
                clinical_reasons=tuple(f.reason for f in findings),
                clinical_excess=worst.excess if worst else 0.0,
                baseline_z=z,
            )
        )
    flagged = 0
    for reason, ids in to_flag.items():
        flagged += HealthMetric.objects.filter(pk__in=ids).update(is_anomaly=True, anomaly_reason=reason)
    if flagged:
        logger.info("health_metric_anomalies", extra={"user_id": str(user_id), "flagged": flagged})
        # Flags show in the reading list and in cached latest values.
        person_data_changed(user_id)
    if facts:
        readings_judged(user_id=user_id, facts=facts, upload=upload or _upload_of(batch, metric_ids))
    return flagged


def _plain_rows(readings: QuerySet[HealthMetric]) -> list:
    """READINGS' `_FIELDS` as named tuples. On PostgreSQL the ORM's query runs on a binary cursor: a device
    batch is thousands of rows, and parsing their timestamps from text was a quarter of detection's time."""
    values = readings.values_list(*_FIELDS, named=True)
    if connection.vendor != "postgresql":
        return list(values)
    sql, params = values.query.sql_with_params()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection, row_factory=namedtuple_row) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def _upload_of(batch: BatchReadings | None, metric_ids: Iterable) -> Upload:
    if batch is not None:
        return Upload(key=f"batch:{batch.pk}", batch_id=batch.pk)
    # A digest's dedupe key must stay short whatever the number of readings: the digest of their ids.
    digest = hashlib.sha256(",".join(sorted(str(i) for i in metric_ids)).encode()).hexdigest()[:40]
    return Upload(key=f"readings:{digest}")


def _change_findings(spec: MetricSpec, reading: HealthMetric) -> list[Finding]:
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
        .exclude(pk=reading.id)
        .aggregate(**references)
    )
    findings = []
    for index, rule in enumerate(spec.change_rules):
        reference = found[f"r{index}"]
        if reference is None or reference <= 0:
            continue
        change = reading.value - reference if rule.kind == "gain" else reference - reading.value
        if rule.relative:
            change = change / reference * 100
        # METRICS.md: a gain of *more than* the amount, a loss of the amount *or more*.
        if change > rule.amount if rule.kind == "gain" else change >= rule.amount:
            findings.append(Finding(rule.level, rule.reason, (change - rule.amount) / rule.amount))
    return findings


def _zscore(spec: MetricSpec, reading, baselines: dict) -> tuple[list[str], float | None]:
    """The z-score reasons of READING and its largest absolute z-score when flagged (else None), against the
    baseline of its type and UTC day (`daily_baselines`, loaded beforehand for every day the write touches)."""
    reasons, largest = [], None
    for field in _Z_FIELDS[spec.is_blood_pressure]:
        count, median, mad = baselines[(reading.metric_type, _utc_day(reading.recorded_at))][field]
        if count < BASELINE_MIN_READINGS or not mad:
            continue
        score = abs(Z_CONSTANT * (getattr(reading, field) - median) / mad)
        if score > Z_THRESHOLD:
            name = field.removesuffix("_value").replace("_", " ")
            reasons.append(f"unusual {name} for this person (robust z-score above {Z_THRESHOLD:g} over 30 days)")
            largest = max(score, largest or 0.0)
    return reasons, largest


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _baselines_needed(user_id, readings: list) -> dict[tuple[str, date], dict[str, tuple]]:
    """The baselines of every (metric type, UTC day) of READINGS' trusted ones, a query per metric type."""
    days: dict[str, set[date]] = defaultdict(set)
    for reading in readings:
        if reading.quality == Quality.OK and reading.metric_type in CATALOG:
            days[reading.metric_type].add(_utc_day(reading.recorded_at))
    found = {}
    for metric_type, type_days in days.items():
        fields = _Z_FIELDS[CATALOG[metric_type].is_blood_pressure]
        for day, baseline in daily_baselines(
            user_id=user_id, metric_type=metric_type, fields=fields, days=type_days
        ).items():
            found[(metric_type, day)] = baseline
    return found


def daily_baselines(
    *, user_id, metric_type: str, fields: tuple[str, ...], days: Iterable[date]
) -> dict[date, dict[str, tuple[int, float | None, float | None]]]:
    """Per UTC day of DAYS and per FIELD, (count, median, MAD) of the person's trusted values recorded in the
    BASELINE_WINDOW before that day.

    One query for all the days: it counts each day's distinct values (a histogram: readings repeat a few hundred
    values, so thousands of readings are tens of rows), and each window's median and MAD come exactly from the
    sum of its days' histograms. A backlog of a month costs one scan of five weeks of readings, where a
    `percentile_cont` per day sorted thirty days of them again for every day.
    """
    if any(field not in ("value", "systolic_value", "diastolic_value") for field in fields):
        raise ValueError(fields)
    days = sorted(set(days))
    if not days:
        return {}
    start = datetime.combine(days[0], time_of_day.min, tzinfo=UTC) - BASELINE_WINDOW
    end = datetime.combine(days[-1], time_of_day.min, tzinfo=UTC)
    histograms = _daily_histograms(user_id, metric_type, fields, start, end)
    window = BASELINE_WINDOW.days
    found = {}
    for day in days:
        found[day] = {}
        for field in fields:
            merged: Counter = Counter()
            for offset in range(1, window + 1):
                merged.update(histograms.get((field, day - timedelta(days=offset)), {}))
            found[day][field] = _median_and_mad(merged)
    return found


def _daily_histograms(user_id, metric_type, fields, start: datetime, end: datetime) -> dict[tuple, Counter]:
    """{(field, UTC day): Counter(value -> readings)} of trusted readings recorded in [START, END)."""
    histograms: dict[tuple, Counter] = defaultdict(Counter)
    if connection.vendor == "postgresql":
        table = HealthMetric._meta.db_table
        # FIELDS are checked column names; every value is a bound parameter. The window is read once.
        parts = " UNION ALL ".join(
            f"SELECT {i} AS f, day, v{i} AS v, count(*) FROM w WHERE v{i} IS NOT NULL GROUP BY day, v{i}"  # noqa: S608
            for i in range(len(fields))
        )
        columns = ", ".join(f"{field} AS v{i}" for i, field in enumerate(fields))
        sql = f"""
            WITH w AS MATERIALIZED (
                SELECT (recorded_at AT TIME ZONE 'UTC')::date AS day, {columns} FROM {table}
                WHERE user_id = %s AND metric_type = %s AND quality = %s AND recorded_at >= %s AND recorded_at < %s
            ) {parts}
        """  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id, metric_type, Quality.OK.value, start, end])
            for index, day, value, count in cursor.fetchall():
                histograms[(fields[index], day)][value] = count
        return histograms
    # Other databases (SQLite in development and tests): the window's values, counted here.
    rows = HealthMetric.objects.filter(
        user_id=user_id, metric_type=metric_type, quality=Quality.OK, recorded_at__gte=start, recorded_at__lt=end
    ).values_list("recorded_at", *fields)
    for recorded_at, *values in rows:
        day = _utc_day(recorded_at)
        for field, value in zip(fields, values, strict=True):
            if value is not None:
                histograms[(field, day)][value] += 1
    return histograms


def _median_and_mad(histogram: Counter) -> tuple[int, float | None, float | None]:
    """(count, median, median absolute deviation) of the values HISTOGRAM counts, as statistics.median would
    give them on the values themselves."""
    count = sum(histogram.values())
    if not count:
        return 0, None, None
    median = _histogram_median(sorted(histogram.items()), count)
    deviations: Counter = Counter()
    for value, times in histogram.items():
        deviations[abs(value - median)] += times
    return count, median, _histogram_median(sorted(deviations.items()), count)


def _histogram_median(items: list[tuple[float, int]], count: int) -> float:
    """The median of COUNT values given as sorted (value, times): the middle one, or the mean of the two middle."""
    low_rank, high_rank = (count - 1) // 2, count // 2
    low = high = None
    seen = 0
    for value, times in items:
        seen += times
        if low is None and seen > low_rank:
            low = value
        if seen > high_rank:
            high = value
            break
    return (low + high) / 2 if low != high else low


STALE_CHECK = timedelta(minutes=5)


def anomaly_checks_sweep(*, now: datetime, limit: int = 500) -> int:
    """Run detection for readings whose task never ran (broker down, task lost) and forget them once done."""
    stale = list(PendingAnomalyCheck.objects.filter(created_at__lt=now - STALE_CHECK).order_by("created_at")[:limit])
    for check in stale:
        anomaly_check_run(check)
    if stale:
        logger.info("health_metrics_anomaly_checks_swept", extra={"count": len(stale)})
    return len(stale)


@transaction.atomic
def anomaly_check_run(check: PendingAnomalyCheck) -> int:
    """Detection for the readings CHECK names, and the check gone, in one transaction: done exactly when recorded."""
    flagged = anomalies_detect(
        user_id=check.user_id, metric_ids=check.reading_ids, batch=check_batch(check), upload=check_upload(check)
    )
    PendingAnomalyCheck.objects.filter(pk=check.pk).delete()
    return flagged


def check_batch(check: PendingAnomalyCheck) -> BatchReadings | None:
    """The device batch a pending check names, if it names one rather than reading ids."""
    if check.batch_id is None:
        return None
    return BatchReadings(check.batch_id, check.recorded_from, check.recorded_to)


def check_upload(check: PendingAnomalyCheck) -> Upload:
    """The write a pending check stands for: its device batch, or the API write it was recorded with."""
    if check.batch_id is not None:
        return Upload(key=f"batch:{check.batch_id}", batch_id=check.batch_id)
    return Upload(key=f"write:{check.pk}")
