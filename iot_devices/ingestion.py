"""Batch ingestion: accept an upload at once, process it in a worker, never lose or duplicate a reading.

Accepting (`batch_receive`) stores the batch with its raw readings and enqueues `iot_devices.process_batch` after
commit. The row is the outbox: if the broker is down the enqueue fails, the upload is still answered 202, and the
sweeper (`batches_requeue_stale`, every minute) enqueues it again later.

Processing (`batch_process`) claims the batch with a conditional update (`received → processing`, or a
`processing` batch whose lease ran out) and a lease token, judges every remaining reading at once, then stores
them in chunks of at most IOT_INGEST_CHUNK_SIZE (500 at most, checklist D7). Each chunk is one transaction
holding its readings, the batch's progress and the lease renewal, so a worker killed mid-chunk leaves nothing of
that chunk, and the next delivery resumes at the first uncommitted chunk; the unique key (device, metric type,
time) makes a redone insert store nothing twice. A chunk commits only while its delivery still owns the lease
(its progress update matches the token and position, under the row lock), so two deliveries of one batch never
both commit a chunk. After IOT_BATCH_MAX_ATTEMPTS claims a batch is failed (poison guard).

Health metrics hears of a batch twice: its first chunk marks the rollups of the batch's range stale, with the
readings; the final transaction runs `metrics_changed` once for everything the batch stored over all its
deliveries, naming the batch rather than thousands of reading ids (thresholds, then rollups and anomaly
detection after commit). Per chunk there is nothing but the insert and the progress: the figures are in
bench/README.md.

Counting, once a batch is final: `received = accepted + rejected`. A rejected reading has an entry in `errors`
(`index`, `code`, `message`, `fields`?): `invalid` (the rules of manual entry: `clean_reading`, then
`quality.assess` against the person's stored readings, which also marks suspect ones),
`metric_not_configured` (a metric outside the device's configured metric types) or `duplicate` (the same metric
type and time as an earlier valid reading of the same batch). A valid reading whose key an earlier overlapping
batch had already stored is accepted, not stored again, and counted in `already_stored_count` as well.
Status: `completed` (nothing rejected), `partially_failed` (some rejected), `failed` (none accepted, or the poison
guard gave up; `failure_reason` says which), the last raising a `sync_failure` alert.
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import UserProfile
from health_metrics.exceptions import OwnerGone, ReadingInvalid
from health_metrics.models import Source
from health_metrics.quality import assess
from health_metrics.selectors import BatchReadings
from health_metrics.services import metrics_changed, rollups_mark_pending, rollups_unmark_pending
from health_metrics.storage import NewReadings, Origin, device_readings_insert
from health_metrics.validation import CleanReading, clean_reading
from jeghealth_backend.gc_pause import gc_paused

from .capabilities import allowed_metric_types
from .choices import AlertSeverity, AlertType, BatchStatus
from .models import DeviceDataBatch, IoTDevice
from .selectors import batch_payload
from .services import alert_raise, device_mark_seen

logger = logging.getLogger(__name__)

# A broker that does not answer must not hold the device's HTTP answer for long: the batch is safe in the
# database and the sweeper will enqueue it.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


class Outcome(enum.Enum):
    MISSING = "missing"  # deleted (with its device) or never existed
    FINISHED = "finished"  # final status already: a redelivery or a duplicate message
    LEASED = "leased"  # another delivery holds a live lease
    LOST_LEASE = "lost_lease"  # our lease ran out and another delivery took the batch over
    DONE = "done"  # this delivery brought the batch to a final status


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    retry_in: float | None = None  # seconds until the other delivery's lease runs out (LEASED only)


# --- accepting -----------------------------------------------------------------------------------------------


def batch_receive(*, device: IoTDevice, batch_id: uuid.UUID, readings: list) -> tuple[DeviceDataBatch, bool]:
    """Store an upload as received and enqueue its processing after commit; (batch, created).

    The same batch_id from the same device returns the stored batch and changes nothing: the unique key
    (device, batch_id) decides, so two concurrent replays store one batch.
    """
    now = timezone.now()
    batch = DeviceDataBatch(
        id=uuid.uuid4(),
        device_id=device.pk,
        batch_id=batch_id,
        payload=readings,
        received_count=len(readings),
        received_at=now,
    )
    try:
        with transaction.atomic():
            batch.save(force_insert=True)
            device_mark_seen(device=device, now=now)
            # robust: whatever the enqueue raises, the upload has been stored and is answered 202.
            transaction.on_commit(partial(batch_enqueue, batch_pk=batch.id), robust=True)
    except IntegrityError:
        existing = DeviceDataBatch.objects.defer("payload").get(device_id=device.pk, batch_id=batch_id)
        return existing, False
    logger.info("batch_received", extra={"batch_pk": str(batch.id), "device_id": str(device.pk)})
    return batch, True


def batch_enqueue(*, batch_pk: uuid.UUID) -> bool:
    """Hand the batch to the ingest queue; False (logged) when the broker cannot be reached."""
    from .tasks import process_batch

    try:
        process_batch.apply_async(args=[str(batch_pk)], retry=True, retry_policy=ENQUEUE_RETRY_POLICY)
    except (KombuOperationalError, ConnectionError, OSError):
        logger.warning("batch_enqueue_failed", extra={"batch_pk": str(batch_pk)}, exc_info=True)
        return False
    return True


def batches_requeue_stale(*, now: datetime | None = None, limit: int = 500) -> int:
    """Enqueue again the batches a worker should have finished: still `received` a lease period after upload
    (the enqueue failed or the message was lost), or `processing` with an expired lease (the worker died).
    Returns how many were enqueued. A duplicate message is harmless: the claim lets one delivery work."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.IOT_BATCH_LEASE_SECONDS)
    stale = (
        DeviceDataBatch.objects.filter(
            Q(status=BatchStatus.RECEIVED, received_at__lt=now - stale_after)
            | Q(status=BatchStatus.PROCESSING, lease_expires_at__lt=now)
        )
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
    enqueued = 0
    for batch_pk in stale:
        enqueued += batch_enqueue(batch_pk=batch_pk)
    if enqueued:
        logger.info("batches_requeued", extra={"count": enqueued})
    return enqueued


# --- processing ----------------------------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.IOT_BATCH_LEASE_SECONDS)


def _claim(batch_pk: uuid.UUID, token: uuid.UUID, now: datetime) -> bool:
    # One conditional UPDATE: of two deliveries racing here, the row lock lets one through and the other finds
    # the condition false once the first commits.
    return bool(
        DeviceDataBatch.objects.filter(pk=batch_pk)
        .filter(
            Q(status=BatchStatus.RECEIVED)
            | Q(status=BatchStatus.PROCESSING, lease_expires_at__lt=now)
            | Q(status=BatchStatus.PROCESSING, lease_expires_at__isnull=True)
        )
        .update(
            status=BatchStatus.PROCESSING,
            lease_token=token,
            lease_expires_at=now + _lease(),
            attempts=F("attempts") + 1,
            started_at=now,
        )
    )


def batch_process(*, batch_pk: uuid.UUID | str) -> ProcessResult:
    """Process a batch to a final status, or step aside for the delivery that owns it. See the module doc."""
    with gc_paused():
        return _process(batch_pk)


def _process(batch_pk: uuid.UUID | str) -> ProcessResult:
    token = uuid.uuid4()
    claimed_at = timezone.now()
    if not _claim(batch_pk, token, claimed_at):
        row = DeviceDataBatch.objects.filter(pk=batch_pk).values("status", "lease_expires_at").first()
        if row is None:
            return ProcessResult(Outcome.MISSING)
        if row["status"] not in (BatchStatus.RECEIVED, BatchStatus.PROCESSING):
            return ProcessResult(Outcome.FINISHED)
        expires = row["lease_expires_at"] or claimed_at
        return ProcessResult(Outcome.LEASED, retry_in=max(1.0, (expires - claimed_at).total_seconds() + 1))

    batch = DeviceDataBatch.objects.select_related("device").defer("payload").get(pk=batch_pk)
    log = {"batch_pk": str(batch.id), "device_id": str(batch.device_id), "attempt": batch.attempts}
    device = batch.device
    allowed = allowed_metric_types(device.device_type, device.configuration)
    # Validation is against the upload time, so a redelivery judges "future" readings as the first one did.
    moment = batch.received_at
    if batch.attempts > settings.IOT_BATCH_MAX_ATTEMPTS:
        logger.error("batch_poisoned", extra=log)
        reason = f"Gave up after {batch.attempts - 1} interrupted processing attempts."
        return _finish(batch, token, _keys_committed_if_readable(batch, moment, allowed), failure_reason=reason)
    logger.info("batch_processing", extra={**log, "from_index": batch.processed_count})

    readings = batch_payload(batch_pk)
    # Chunks committed by an earlier delivery are done; their accepted keys still count as duplicates.
    seen = _keys_committed(batch, readings, moment, allowed)

    height_cm = UserProfile.objects.filter(user_id=device.owner_id).values_list("height_cm", flat=True).first()
    # The whole remainder is judged at once (one `assess` over it, as for one request of manual entry), then
    # stored chunk by chunk. `seen` ends holding the key of every reading the batch accepts.
    first, size = batch.processed_count, _chunk_size()
    accepted, errors = _judge(readings, first, batch.received_count, moment, allowed, seen, device, height_cm)
    chunks: dict[int, list[_Accepted]] = {}
    chunk_errors: dict[int, list[dict]] = {}
    for item in accepted:
        chunks.setdefault((item.index - first) // size, []).append(item)
    for error in errors:
        chunk_errors.setdefault((error["index"] - first) // size, []).append(error)
    pending_ids: list[str] | None = None
    for number, start in enumerate(range(first, batch.received_count, size)):
        end = min(start + size, batch.received_count)
        # The first chunk this delivery commits also marks the batch's rollups stale (see metrics_changed).
        span = _Span.of(seen) if pending_ids is None else None
        chunk = _Chunk(start, end, chunks.get(number, []), chunk_errors.get(number, []))
        committed, marks = _commit_chunk(batch, token, chunk, span)
        if not committed:
            logger.warning("batch_lease_lost", extra={**log, "at_index": start})
            return ProcessResult(Outcome.LOST_LEASE)
        if span is not None:
            pending_ids = marks
    return _finish(batch, token, seen, pending_ids=pending_ids)


def _chunk_size() -> int:
    # Checklist D7: a chunk holds at most 500 readings, whatever the setting says.
    return max(1, min(settings.IOT_INGEST_CHUNK_SIZE, 500))


class _Chunk(NamedTuple):
    """Readings START to END (excluded) of a batch: those to store and the rejected ones' errors."""

    start: int
    end: int
    accepted: list[_Accepted]
    errors: list[dict]


class _Accepted(NamedTuple):  # a tuple: made once per reading on the hot path
    index: int
    reading: CleanReading
    quality: str


@dataclass(frozen=True, slots=True)
class _Span:
    """The metric types and time range of a batch's accepted readings."""

    metric_types: frozenset[str]
    start: datetime
    end: datetime

    @classmethod
    def of(cls, keys: set[tuple[str, datetime]]) -> _Span | None:
        if not keys:
            return None
        times = [t for _, t in keys]
        return cls(frozenset(m for m, _ in keys), min(times), max(times))


def _keys_committed(
    batch: DeviceDataBatch, readings: list, moment: datetime, allowed: frozenset[str]
) -> set[tuple[str, datetime]]:
    """The (metric type, time) keys of the readings an earlier delivery's committed chunks accepted."""
    rejected_before = {error["index"] for error in batch.errors}
    keys: set[tuple[str, datetime]] = set()
    for index in range(batch.processed_count):
        if index not in rejected_before:
            clean, _ = _validate(readings[index], moment, allowed)
            if clean is not None:
                keys.add((clean.metric_type, clean.recorded_at))
    return keys


def _keys_committed_if_readable(
    batch: DeviceDataBatch, moment: datetime, allowed: frozenset[str]
) -> set[tuple[str, datetime]]:
    """`_keys_committed` for the poison guard, which must end the batch whatever made its deliveries fail:
    if its payload cannot even be read, no delivery can have stored anything from it."""
    try:
        return _keys_committed(batch, batch_payload(batch.pk), moment, allowed)
    except Exception:  # the guard's whole point is to stop on what keeps failing
        logger.exception("batch_payload_unreadable", extra={"batch_pk": str(batch.pk)})
        return set()


def _judge(
    readings: list,
    start: int,
    end: int,
    moment: datetime,
    allowed: frozenset[str],
    seen: set[tuple[str, datetime]],
    device: IoTDevice,
    height_cm,
) -> tuple[list[_Accepted], list[dict]]:
    """The readings to store (with their quality) and the rejected ones, both in index order, by the rules of
    manual entry: `clean_reading`, then `quality.assess` against the person's stored readings, then the
    duplicate rule. Adds the accepted keys to SEEN."""
    errors: list[dict] = []
    candidates: list[tuple[int, CleanReading]] = []
    for index in range(start, end):
        clean, error = _validate(readings[index], moment, allowed)
        if clean is None:
            errors.append({"index": index, **error})
        else:
            candidates.append((index, clean))
    accepted: list[_Accepted] = []
    if candidates:
        assessment = assess(user_id=device.owner_id, readings=[c for _, c in candidates], height_cm=height_cm)
        for position, (index, clean) in enumerate(candidates):
            refusal = assessment.refusals.get(position)
            key = (clean.metric_type, clean.recorded_at)
            if refusal:
                message = ReadingInvalid(refusal).message
                errors.append({"index": index, "code": "invalid", "message": message, "fields": refusal})
            elif key in seen:
                message = "An earlier reading of this batch has the same metric type and recorded_at."
                errors.append({"index": index, "code": "duplicate", "message": message})
            else:
                seen.add(key)
                accepted.append(_Accepted(index, clean, assessment.qualities[position]))
    errors.sort(key=lambda error: error["index"])
    return accepted, errors


def _validate(raw, moment: datetime, allowed: frozenset[str]) -> tuple[CleanReading | None, dict]:
    try:
        clean = clean_reading(raw, now=moment)
    except ReadingInvalid as exc:
        return None, {"code": "invalid", "message": exc.message, "fields": exc.fields}
    if clean.metric_type not in allowed:
        message = f"This device is not configured to measure {clean.metric_type}."
        return None, {"code": "metric_not_configured", "message": message}
    return clean, {}


class _LeaseLost(Exception):
    """Rolls back a chunk whose delivery no longer owns the batch."""


def _commit_chunk(
    batch: DeviceDataBatch, token: uuid.UUID, chunk: _Chunk, span: _Span | None
) -> tuple[bool, list[str]]:
    """Store one chunk and the progress in one transaction, and when SPAN is given mark its rollups stale;
    (False, []) when the lease is no longer ours, else (True, the pending rollup ids)."""
    try:
        # Most uploads are new readings: the plain insert is the faster statement. One that overlaps readings
        # already stored (another batch of this device, maybe racing us) fails it; the chunk is redone skipping
        # them, so the unique key still decides what is stored, exactly once.
        return _store_chunk(batch, token, chunk, span, skip_stored=False)
    except IntegrityError:
        return _store_chunk(batch, token, chunk, span, skip_stored=True)


def _store_chunk(
    batch: DeviceDataBatch, token: uuid.UUID, chunk: _Chunk, span: _Span | None, *, skip_stored: bool
) -> tuple[bool, list[str]]:
    owner_id = batch.device.owner_id
    try:
        with transaction.atomic():
            marks: list[str] = []
            if span is not None:
                marks = rollups_mark_pending(
                    user_id=owner_id, metric_types=span.metric_types, start=span.start, end=span.end
                )
            origin = Origin(
                user_id=owner_id,
                created_at=timezone.now(),
                source=Source.DEVICE.value,
                device_id=batch.device_id,
                batch_pk=batch.pk,
                source_name=batch.device.name,
            )
            new = NewReadings(
                [item.reading for item in chunk.accepted], origin, [item.quality for item in chunk.accepted]
            )
            stored = device_readings_insert(new, skip_stored=skip_stored)
            delay = settings.IOT_INGEST_CHUNK_DELAY_SECONDS
            if delay:
                # Test hook only (default 0): holds the chunk open so a test can kill the worker inside it.
                time.sleep(delay)
            # Last, so the row lock is held only to commit. The token and position say it is still our turn;
            # a delivery that took the batch over makes this match nothing, and the chunk rolls back (a redone
            # insert of the other delivery's readings stored nothing: the unique key waited for its commit).
            progressed = DeviceDataBatch.objects.filter(
                pk=batch.pk, lease_token=token, processed_count=chunk.start, status=BatchStatus.PROCESSING
            ).update(
                processed_count=chunk.end,
                accepted_count=F("accepted_count") + len(chunk.accepted),
                already_stored_count=F("already_stored_count") + len(chunk.accepted) - stored,
                rejected_count=F("rejected_count") + len(chunk.errors),
                errors=[*batch.errors, *chunk.errors],
                lease_expires_at=timezone.now() + _lease(),
            )
            if not progressed:
                raise _LeaseLost
    except (_LeaseLost, OwnerGone):
        # OwnerGone: the device (and with it this batch) or its owner was deleted meanwhile.
        return False, []
    batch.processed_count = chunk.end
    batch.errors = [*batch.errors, *chunk.errors]
    return True, marks


def _finish(
    batch: DeviceDataBatch,
    token: uuid.UUID,
    seen: set[tuple[str, datetime]],
    *,
    failure_reason: str = "",
    pending_ids: list[str] | None = None,
) -> ProcessResult:
    """Give the batch its final status and, in the same transaction, hand what it stored (over every delivery)
    to health metrics: thresholds now, rollups and anomaly detection after commit (`metrics_changed`)."""
    with transaction.atomic():
        locked = (
            DeviceDataBatch.objects.select_for_update()
            .defer("payload", "errors")
            .filter(pk=batch.pk, lease_token=token)
            .first()
        )
        if locked is None:
            return ProcessResult(Outcome.LOST_LEASE)
        if failure_reason or locked.accepted_count == 0:
            status = BatchStatus.FAILED
        elif locked.rejected_count:
            status = BatchStatus.PARTIALLY_FAILED
        else:
            status = BatchStatus.COMPLETED
        if status == BatchStatus.FAILED and not failure_reason:
            failure_reason = "No reading of this batch was valid."
        DeviceDataBatch.objects.filter(pk=batch.pk).update(
            status=status,
            failure_reason=failure_reason,
            completed_at=timezone.now(),
            lease_token=None,
            lease_expires_at=None,
        )
        span = _Span.of(seen)
        if span is None or locked.accepted_count == locked.already_stored_count:
            if pending_ids:
                rollups_unmark_pending(pending_ids=pending_ids)
        else:
            metrics_changed(
                user_id=batch.device.owner_id,
                metric_types=span.metric_types,
                start=span.start,
                end=span.end,
                batch=BatchReadings(batch.pk, span.start, span.end),
                pending_ids=pending_ids,
            )
        if status == BatchStatus.FAILED:
            alert_raise(
                device=batch.device,
                alert_type=AlertType.SYNC_FAILURE,
                severity=AlertSeverity.WARNING,
                message=f"Upload {batch.batch_id} failed: {failure_reason}"[:255],
            )
    logger.info(
        "batch_processed",
        extra={
            "batch_pk": str(batch.pk),
            "status": status,
            "accepted": locked.accepted_count,
            "rejected": locked.rejected_count,
        },
    )
    return ProcessResult(Outcome.DONE)
