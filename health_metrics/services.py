"""Writes of health metrics: readings (one, many, edit, delete) and targets, and the after-write hook.

Every write owns its transaction and ends with `metrics_changed`, which IoT ingestion calls too: after commit
it invalidates the person's cached reads and enqueues the rollup refresh of the buckets touched and anomaly
detection of the new readings. Offline sync is idempotent through the database: the unique key
(user, client_record_id) decides which insert wins, never a look-up before the insert.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from alerts.services import readings_forgotten
from jeghealth_backend.metric_catalog import CATALOG
from jeghealth_backend.person_cache import person_data_changed

from .exceptions import ReadingInvalid, ReadingNotEditable, TargetInvalid
from .models import (
    ClientRecordKey,
    HealthMetric,
    HealthMetricTarget,
    PendingAnomalyCheck,
    PendingRollup,
    Source,
    SourcePriority,
    TargetType,
)
from .quality import assess
from .selectors import BatchReadings
from .storage import (
    NewReadings,
    Origin,
    cross_source_twins,
    metric_rows,
    readings_insert,
    without_twins,
)
from .sync import changes_record, check_if_match
from .validation import ManualEntry, clean_manual_entry, clean_reading

logger = logging.getLogger(__name__)

BULK_MAX_ITEMS = 1000
_READING_FIELDS = ("value", "systolic_value", "diastolic_value", "unit", "recorded_at")


# --- the after-write hook -------------------------------------------------------------------------------


def metrics_changed(
    *,
    user_id: uuid.UUID | str,
    metric_types: Iterable[str],
    start: datetime,
    end: datetime,
    metric_ids: Iterable[uuid.UUID | str] = (),
    batch: BatchReadings | None = None,
    pending_ids: Sequence[str] | None = None,
) -> None:
    """Tell the app that USER_ID's readings of METRIC_TYPES recorded between START and END (aware, inclusive)
    changed: stored, edited or deleted.

    Call it after storing, inside the writing transaction if there is one. Immediately it records a
    `PendingRollup` per type (so summaries stop trusting rollups of that range until refreshed); after commit
    it bumps the person's cache version and enqueues `health_metrics.refresh_rollups` for the touched buckets
    and, for the readings newly stored or changed (METRIC_IDS, or those a device BATCH stored; none for a
    deletion), `health_metrics.detect_anomalies`, which loads them from the database (so readings inserted by
    raw SQL are covered). A broker that is down loses nothing durable: the pending rows (`PendingRollup`,
    `PendingAnomalyCheck`) are swept by beat.

    A writer that commits in several transactions (IoT ingestion, chunk by chunk) records the pending rollups
    of the whole range with `rollups_mark_pending` in its first one, and passes their ids as PENDING_IDS from
    its last one (so the refresh runs once, after every transaction).

    Detection hands every new reading to the alert rules (alerts.services.readings_judged), the person's own
    thresholds included, in its own transaction after this one commits.
    """
    types = sorted(set(metric_types))
    if not types:
        return
    if pending_ids is None:
        mark_ids = rollups_mark_pending(user_id=user_id, metric_types=types, start=start, end=end)
    else:
        mark_ids = list(pending_ids)
    reading_ids = [str(i) for i in metric_ids]
    changes_record(
        user_id=user_id,
        upserts=reading_ids,
        batch_id=batch.pk if batch else None,
        recorded_from=batch.start if batch else None,
        recorded_to=batch.end if batch else None,
    )
    check_id = None
    if reading_ids or batch is not None:
        check = PendingAnomalyCheck.objects.create(
            user_id=user_id,
            reading_ids=reading_ids,
            batch_id=batch.pk if batch else None,
            recorded_from=batch.start if batch else None,
            recorded_to=batch.end if batch else None,
        )
        check_id = str(check.pk)

    def after_commit() -> None:
        from . import tasks  # tasks import services: resolve at call time

        person_data_changed(user_id)
        try:
            tasks.refresh_rollups.delay(str(user_id), mark_ids)
            if check_id:
                tasks.detect_anomalies.delay(check_id)
        except (BrokerError, RedisError, OSError):
            # The readings are stored; rollups catch up through the pending rows the beat sweep finds.
            logger.exception("health_metrics_enqueue_failed", extra={"user_id": str(user_id)})

    transaction.on_commit(after_commit)


def rollups_mark_pending(*, user_id, metric_types: Iterable[str], start: datetime, end: datetime) -> list[str]:
    """Record that rollups of USER_ID's METRIC_TYPES between START and END are stale, in the caller's
    transaction; returns the `PendingRollup` ids to refresh (see `metrics_changed`)."""
    now = timezone.now()
    marks = [
        PendingRollup(user_id=user_id, metric_type=t, start=start, end=end, created_at=now)
        for t in sorted(set(metric_types))
    ]
    PendingRollup.objects.bulk_create(marks)
    return [str(m.id) for m in marks]


def rollups_unmark_pending(*, pending_ids: Sequence[str]) -> None:
    """Withdraw marks of `rollups_mark_pending` whose writer ended up changing nothing (a device batch whose
    readings were all stored already): the rollups of their range are current again."""
    PendingRollup.objects.filter(pk__in=list(pending_ids)).delete()


# --- readings -------------------------------------------------------------------------------------------


def metric_create(*, user, data: dict[str, Any]) -> tuple[HealthMetric, bool]:
    """Store one manual reading. Returns (reading, created): a `client_record_id` this person already used
    returns the stored reading and `created=False`. Raises `ReadingInvalid`."""
    entry = clean_manual_entry(data, now=timezone.now())
    ((stored, created),) = _store_manual(user=user, entries=[entry], keyed_by_index=False)
    return stored, created


def metrics_bulk_create(*, user, items: Sequence[dict[str, Any]]) -> list[tuple[HealthMetric, bool]]:
    """Store up to BULK_MAX_ITEMS manual readings, all or nothing, in input order.

    Raises `ReadingInvalid` whose fields are keyed by item index (`{"3": {"value": [...]}}`) and stores
    nothing when any item is refused. Items whose `client_record_id` is already stored (or repeated in the
    request) return the stored reading with created=False.
    """
    now = timezone.now()
    entries: list[ManualEntry] = []
    errors: dict[str, dict] = {}
    for index, item in enumerate(items):
        try:
            entries.append(clean_manual_entry(item, now=now))
        except ReadingInvalid as exc:
            errors[str(index)] = exc.fields
    if errors:
        raise TargetInvalid(errors)
    return _store_manual(user=user, entries=entries, keyed_by_index=True)


@transaction.atomic
def _store_manual(*, user, entries: list[ManualEntry], keyed_by_index: bool) -> list[tuple[HealthMetric, bool]]:
    readings = [e.reading for e in entries]
    judged = assess(user_id=user.pk, readings=readings, height_cm=_height_cm(user))
    if judged.refusals:
        if keyed_by_index:
            raise ReadingInvalid({str(i): fields for i, fields in sorted(judged.refusals.items())})
        raise ReadingInvalid(judged.refusals[0])

    # The offline-sync key (user, client_record_id) decides replays: it is claimed first, in this transaction, and
    # only readings whose key was free (or that have none) are inserted. No look-up before the claim, so two racing
    # replays cannot both store (the second waits on the key and then finds it taken).
    new = NewReadings(
        readings,
        Origin(user_id=user.pk, created_at=timezone.now()),
        judged.qualities,
        ids=[uuid.uuid4() for _ in readings],
        is_manual_entry=[e.is_manual_entry for e in entries],
        client_record_ids=[e.client_record_id for e in entries],
    )
    objects = metric_rows(new)
    # The same value another source (a device, an import) stored within a minute is that reading: answered, not
    # stored twice. Manual entries share one source, so a twin is always a stored reading.
    twins = cross_source_twins(new)
    # Storage claims the offline-sync keys first (a key already held skips its entry: the holder answers it).
    inserted = readings_insert(without_twins(new, twins))
    twin_rows = {m.pk: m for m in HealthMetric.objects.filter(pk__in=list(twins.values()))} if twins else {}
    skipped = {o.client_record_id for i, o in enumerate(objects) if o.id not in inserted and i not in twins}
    holders = _key_holders(user=user, client_record_ids=skipped) if skipped else {}
    results: list[tuple[HealthMetric, bool]] = []
    for index, obj in enumerate(objects):
        if index in twins:
            results.append((twin_rows[twins[index]], False))
        elif obj.id in inserted:
            results.append((obj, True))
        elif obj.client_record_id in holders:
            results.append((holders[obj.client_record_id], False))
        else:
            # Validated readings break no other constraint; if one ever does, fail loudly rather than drop it.
            raise IntegrityError(f"reading {obj.id} was not stored")
    created = [m for m, new in results if new]
    if created:
        metrics_changed(
            user_id=user.pk,
            metric_types={m.metric_type for m in created},
            start=min(m.recorded_at for m in created),
            end=max(m.recorded_at for m in created),
            metric_ids=[m.id for m in created],
        )
    return results


def _key_holders(*, user, client_record_ids: set) -> dict[uuid.UUID, HealthMetric]:
    """The stored readings holding CLIENT_RECORD_IDS, by key."""
    keys = dict(
        ClientRecordKey.objects.filter(user=user, client_record_id__in=client_record_ids).values_list(
            "reading_id", "client_record_id"
        )
    )
    return {keys[m.pk]: m for m in HealthMetric.objects.filter(user=user, pk__in=list(keys))}


@transaction.atomic
def metric_update(*, metric: HealthMetric, data: dict[str, Any], if_match: str | None = None) -> HealthMetric:
    """Edit one reading: values, unit, time, notes, metadata, `is_manual_entry`, or `quality` (a person confirms
    a suspect reading with `ok`). The type cannot change; a device's reading keeps its values (only notes,
    metadata and quality). New values are validated like a new reading and checked for anomalies again."""
    metric = HealthMetric.objects.select_for_update().get(pk=metric.pk)
    check_if_match(metric, if_match)  # under the lock: nobody changes it between the check and the write
    if "metric_type" in data and data["metric_type"] != metric.metric_type:
        raise ReadingNotEditable(fields={"metric_type": ["Cannot be changed; delete the reading and add another."]})
    touches_values = any(name in data for name in _READING_FIELDS)
    if touches_values and metric.source == Source.DEVICE:
        raise ReadingNotEditable(
            fields={name: ["A device's reading keeps its values."] for name in _READING_FIELDS if name in data}
        )
    old_recorded_at = metric.recorded_at
    if touches_values or "notes" in data or "metadata" in data:
        merged = {
            "metric_type": metric.metric_type,
            "value": metric.value,
            "systolic_value": metric.systolic_value,
            "diastolic_value": metric.diastolic_value,
            "unit": metric.unit,
            "recorded_at": metric.recorded_at,
            "notes": metric.notes,
            "metadata": metric.metadata,
            **{k: v for k, v in data.items() if k in (*_READING_FIELDS, "notes", "metadata")},
        }
        reading = clean_reading(merged, now=timezone.now())
        if touches_values:
            judged = assess(
                user_id=metric.user_id, readings=[reading], height_cm=_height_cm(metric.user), exclude_id=metric.pk
            )
            if judged.refusals:
                raise ReadingInvalid(judged.refusals[0])
            entered_changed = "value" in data or "unit" in data
            metric.value = reading.value
            metric.systolic_value = reading.systolic_value
            metric.diastolic_value = reading.diastolic_value
            metric.recorded_at = reading.recorded_at
            if entered_changed:
                metric.entered_value = reading.entered_value
                metric.entered_unit = reading.entered_unit
            metric.quality = judged.qualities[0]
            # New values are judged afresh by detection (after commit).
            metric.is_anomaly = False
            metric.anomaly_reason = ""
        metric.notes = reading.notes
        metric.metadata = reading.metadata
    if "is_manual_entry" in data:
        metric.is_manual_entry = data["is_manual_entry"]
    if "quality" in data:
        metric.quality = data["quality"]
    metric.save()
    metrics_changed(
        user_id=metric.user_id,
        metric_types=[metric.metric_type],
        start=min(old_recorded_at, metric.recorded_at),
        end=max(old_recorded_at, metric.recorded_at),
        metric_ids=[metric.pk] if touches_values else (),
    )
    if not touches_values:
        changes_record(user_id=metric.user_id, upserts=[metric.pk])
    return metric


@transaction.atomic
def metric_delete(*, metric: HealthMetric, if_match: str | None = None) -> None:
    """Delete one reading (with IF_MATCH, only while its ETag is that); its buckets are refreshed after commit."""
    if if_match is not None:
        check_if_match(HealthMetric.objects.select_for_update().get(pk=metric.pk), if_match)
    user_id, metric_type, recorded_at = metric.user_id, metric.metric_type, metric.recorded_at
    readings_forgotten(user_id=user_id, reading_ids=[metric.pk])
    changes_record(user_id=user_id, deletes=[metric.pk])
    if metric.client_record_id is not None:
        # The offline-sync key goes with its reading: the app may send that record again.
        ClientRecordKey.objects.filter(user_id=user_id, client_record_id=metric.client_record_id).delete()
    metric.delete()
    metrics_changed(user_id=user_id, metric_types=[metric_type], start=recorded_at, end=recorded_at)


def _height_cm(user) -> float | None:
    profile = getattr(user, "profile", None)
    return float(profile.height_cm) if profile is not None and profile.height_cm else None


# --- source priority ------------------------------------------------------------------------------------


@transaction.atomic
def source_priority_set(*, user, orders: dict[str, list[str]]) -> None:
    """Store USER's order of sources for each type of ORDERS (keys checked by the serializer). Summaries,
    targets and the dashboard follow it at once (the changed types' rollups are pending until refreshed)."""
    now = timezone.now()
    for metric_type, keys in orders.items():
        SourcePriority.objects.update_or_create(
            user=user, metric_type=metric_type, defaults={"sources": list(keys), "updated_at": now}
        )
    spans = (
        HealthMetric.objects.filter(user=user, metric_type__in=list(orders))
        .values("metric_type")
        .annotate(first=Min("recorded_at"), last=Max("recorded_at"))
        .order_by()
    )
    for span in spans:
        metrics_changed(user_id=user.pk, metric_types=[span["metric_type"]], start=span["first"], end=span["last"])
    person_data_changed(user.pk)


# --- targets --------------------------------------------------------------------------------------------


def _targets_changed(user_id) -> None:
    # The dashboard shows targets and is cached under the person's version.
    person_data_changed(user_id)


@transaction.atomic
def target_create(*, user, data: dict[str, Any]) -> HealthMetricTarget:
    """Add a target; `data` holds the serializer's typed fields. Raises `TargetInvalid` for rules across them."""
    target = HealthMetricTarget(user=user, **data)
    _check_target(target)
    target.save()
    _targets_changed(user.pk)
    return target


@transaction.atomic
def target_update(*, target: HealthMetricTarget, data: dict[str, Any]) -> HealthMetricTarget:
    """Change a target's fields; switching `target_type` clears the values the new type does not use."""
    for name, value in data.items():
        setattr(target, name, value)
    if "target_type" in data:
        if target.target_type == TargetType.RANGE:
            if "target_value" not in data:
                target.target_value = None
        elif "min_value" not in data and "max_value" not in data:
            target.min_value = target.max_value = None
    _check_target(target)
    target.updated_at = timezone.now()
    target.save()
    _targets_changed(target.user_id)
    return target


@transaction.atomic
def target_delete(*, target: HealthMetricTarget) -> None:
    user_id = target.user_id
    target.delete()
    _targets_changed(user_id)


def _check_target(target: HealthMetricTarget) -> None:
    errors: dict[str, list[str]] = {}
    if target.target_type == TargetType.RANGE:
        for name in ("min_value", "max_value"):
            if getattr(target, name) is None:
                errors[name] = ["Required for a range target."]
        if target.target_value is not None:
            errors["target_value"] = ["A range target takes min_value and max_value instead."]
        if not errors and target.min_value > target.max_value:
            errors["min_value"] = ["Must not be above max_value."]
    else:
        if target.target_value is None:
            errors["target_value"] = [f"Required for a {target.target_type} target."]
        for name in ("min_value", "max_value"):
            if getattr(target, name) is not None:
                errors[name] = [f"Only a range target takes {name}; use target_value."]
    if target.end_date is not None and target.end_date < target.start_date:
        errors["end_date"] = ["Must not be before start_date."]
    spec = CATALOG[target.metric_type]
    if spec.target_aggregate != "sum":
        # A per-reading metric's target is a reading's value: it must be one the catalog accepts.
        low, high = next(iter(spec.ranges.values()))
        for name in ("target_value", "min_value", "max_value"):
            value = getattr(target, name)
            if value is not None and name not in errors and not low <= value <= high:
                errors[name] = [f"Must be between {low:g} and {high:g} {spec.unit}."]
    if errors:
        raise TargetInvalid(errors)
