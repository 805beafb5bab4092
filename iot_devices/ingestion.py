"""Batch ingestion: accept an upload at once, process it in a worker, never lose or duplicate a reading.

Accepting (`batch_receive`) stores the batch with its raw readings and enqueues `iot_devices.process_batch` after
commit. The row is the outbox: if the broker is down the enqueue fails, the upload is still answered 202, and the
sweeper (`batches_requeue_stale`, every minute) enqueues it again later.

Processing (`batch_process`) claims the batch with a conditional update (`received → processing`, or a
`processing` batch whose lease ran out) and a lease token, has health metrics judge every remaining reading at
once, then stores them in chunks of at most IOT_INGEST_CHUNK_SIZE (500 at most, checklist D7). Each chunk is one
transaction holding its readings, the batch's progress and the lease renewal, so a worker killed mid-chunk leaves
nothing of that chunk, and the next delivery resumes at the first uncommitted chunk; the unique key (device, metric
type, time) makes a redone insert store nothing twice. A chunk commits only while its delivery still owns the lease
(its progress update matches the token and position, under the row lock), so two deliveries of one batch never
both commit a chunk. After IOT_BATCH_MAX_ATTEMPTS claims a batch is failed (poison guard).

This module keeps the lease and the progress; everything about the readings is health metrics' business, behind
one door (`health_metrics.device_writes`): judging them, storing a chunk (and, with the first chunk of a delivery,
marking the rollups of the batch's range stale), and, in the final transaction, "this batch stored these" once for
everything the batch stored over all its deliveries (thresholds, then rollups and anomaly detection after commit).
The figures are in bench/README.md.

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
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from health_metrics.device_writes import (
    Accepted,
    DeviceBatch,
    OwnerGone,
    Span,
    batch_judge,
    batch_stored,
    chunk_store,
    keys_accepted,
)
from jeghealth_backend.celery import enqueue_or_log
from jeghealth_backend.gc_pause import gc_paused

from .capabilities import allowed_metric_types
from .choices import AlertSeverity, AlertType, BatchStatus
from .models import DeviceDataBatch, IoTDevice
from .selectors import batch_payload
from .services import alert_raise, device_mark_seen

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    MISSING = "missing"  # deleted (with its device) or never existed
    ALREADY_FINAL = "already_final"  # an earlier delivery had finished it: a redelivery or a duplicate message
    LEASED = "leased"  # another delivery holds a live lease
    LOST_LEASE = "lost_lease"  # our lease ran out and another delivery took the batch over
    FINALISED = "finalised"  # this delivery brought the batch to its final status


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    retry_in: float | None = None  # seconds until the other delivery's lease runs out (LEASED only)


# --- accepting -----------------------------------------------------------------------------------------------


def batch_receive(*, device: IoTDevice, device_batch_id: uuid.UUID, readings: list) -> tuple[DeviceDataBatch, bool]:
    """Store an upload as received and enqueue its processing after commit; (batch, created).

    The same DEVICE_BATCH_ID (the device's own id of the upload, `batch_id` in the API) from the same device
    returns the stored batch and changes nothing: the unique key (device, device_batch_id) decides, so two
    concurrent replays store one batch.
    """
    now = timezone.now()
    batch = DeviceDataBatch(
        id=uuid.uuid4(),
        device_id=device.pk,
        device_batch_id=device_batch_id,
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
        existing = DeviceDataBatch.objects.defer("payload").get(device_id=device.pk, device_batch_id=device_batch_id)
        return existing, False
    logger.info("batch_received", extra={"batch_pk": str(batch.id), "device_id": str(device.pk)})
    return batch, True


def batch_enqueue(*, batch_pk: uuid.UUID) -> bool:
    """Hand the batch to the ingest queue; False (logged) when the broker cannot be reached."""
    from .tasks import process_batch

    return enqueue_or_log(
        process_batch, args=[str(batch_pk)], event="batch_enqueue_failed", extra={"batch_pk": str(batch_pk)}
    )


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
            return ProcessResult(Outcome.ALREADY_FINAL)
        expires = row["lease_expires_at"] or claimed_at
        return ProcessResult(Outcome.LEASED, retry_in=max(1.0, (expires - claimed_at).total_seconds() + 1))

    batch = DeviceDataBatch.objects.select_related("device").defer("payload").get(pk=batch_pk)
    log = {"batch_pk": str(batch.id), "device_id": str(batch.device_id), "attempt": batch.attempts}
    subject = _subject(batch)
    if batch.attempts > settings.IOT_BATCH_MAX_ATTEMPTS:
        logger.error("batch_poisoned", extra=log)
        reason = f"Gave up after {batch.attempts - 1} interrupted processing attempts."
        return _finish(batch, token, subject, _keys_committed_if_readable(batch, subject), failure_reason=reason)
    logger.info("batch_processing", extra={**log, "from_index": batch.processed_count})

    readings = batch_payload(batch_pk)
    # Chunks committed by an earlier delivery are done; their accepted keys still count as duplicates.
    seen = _keys_committed(batch, subject, readings)
    # The whole remainder is judged at once (as one request of manual entry), then stored chunk by chunk. `seen`
    # ends holding the key of every reading the batch accepts.
    first, size = batch.processed_count, _chunk_size()
    judged = batch_judge(subject, readings, first, batch.received_count, seen)
    chunks: dict[int, list[Accepted]] = {}
    chunk_errors: dict[int, list[dict]] = {}
    for item in judged.accepted:
        chunks.setdefault((item.index - first) // size, []).append(item)
    for error in judged.errors:
        chunk_errors.setdefault((error["index"] - first) // size, []).append(error)
    pending_ids: list[str] | None = None
    for number, start in enumerate(range(first, batch.received_count, size)):
        end = min(start + size, batch.received_count)
        # The first chunk this delivery commits also marks the batch's rollups stale (see device_writes).
        span = Span.of(seen) if pending_ids is None else None
        chunk = _Chunk(start, end, chunks.get(number, []), chunk_errors.get(number, []))
        committed, marks = _commit_chunk(batch, token, subject, chunk, span)
        if not committed:
            logger.warning("batch_lease_lost", extra={**log, "at_index": start})
            return ProcessResult(Outcome.LOST_LEASE)
        if span is not None:
            pending_ids = marks
    return _finish(batch, token, subject, seen, pending_ids=pending_ids)


def _subject(batch: DeviceDataBatch) -> DeviceBatch:
    """The batch as health metrics judges and stores it. Validation is against the upload time, so a redelivery
    judges "future" readings as the first one did."""
    device = batch.device
    return DeviceBatch(
        pk=batch.pk,
        device_id=device.pk,
        owner_id=device.owner_id,
        device_name=device.name,
        allowed=allowed_metric_types(device.device_type, device.configuration),
        moment=batch.received_at,
    )


def _chunk_size() -> int:
    # Checklist D7: a chunk holds at most 500 readings, whatever the setting says.
    return max(1, min(settings.IOT_INGEST_CHUNK_SIZE, 500))


class _Chunk(NamedTuple):
    """Readings START to END (excluded) of a batch: those to store and the rejected ones' errors."""

    start: int
    end: int
    accepted: list[Accepted]
    errors: list[dict]


def _keys_committed(batch: DeviceDataBatch, subject: DeviceBatch, readings: list) -> set[tuple[str, datetime]]:
    """The (metric type, time) keys of the readings an earlier delivery's committed chunks accepted."""
    rejected_before = (error["index"] for error in batch.errors)
    return keys_accepted(subject, readings, batch.processed_count, rejected_before)


def _keys_committed_if_readable(batch: DeviceDataBatch, subject: DeviceBatch) -> set[tuple[str, datetime]]:
    """`_keys_committed` for the poison guard, which must end the batch whatever made its deliveries fail:
    if its payload cannot even be read, no delivery can have stored anything from it."""
    try:
        return _keys_committed(batch, subject, batch_payload(batch.pk))
    except Exception:  # the guard's whole point is to stop on what keeps failing
        logger.exception("batch_payload_unreadable", extra={"batch_pk": str(batch.pk)})
        return set()


class _LeaseLost(Exception):
    """Rolls back a chunk whose delivery no longer owns the batch."""


def _commit_chunk(
    batch: DeviceDataBatch, token: uuid.UUID, subject: DeviceBatch, chunk: _Chunk, span: Span | None
) -> tuple[bool, list[str]]:
    """Store one chunk and the progress in one transaction, and when SPAN is given mark its rollups stale;
    (False, []) when the lease is no longer ours, else (True, the pending rollup ids)."""
    try:
        # Most uploads are new readings: the plain COPY is the faster statement. One that overlaps readings
        # already stored (another batch of this device, maybe racing us) fails it; the chunk is redone skipping
        # them, so the unique key still decides what is stored, exactly once.
        return _store_chunk(batch, token, subject, chunk, span, skip_stored=False)
    except IntegrityError:
        return _store_chunk(batch, token, subject, chunk, span, skip_stored=True)


def _store_chunk(
    batch: DeviceDataBatch,
    token: uuid.UUID,
    subject: DeviceBatch,
    chunk: _Chunk,
    span: Span | None,
    *,
    skip_stored: bool,
) -> tuple[bool, list[str]]:
    try:
        with transaction.atomic():
            stored, marks = chunk_store(
                subject, chunk.accepted, created_at=timezone.now(), span=span, skip_stored=skip_stored
            )
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
    subject: DeviceBatch,
    seen: set[tuple[str, datetime]],
    *,
    failure_reason: str = "",
    pending_ids: list[str] | None = None,
) -> ProcessResult:
    """Give the batch its final status and, in the same transaction, hand what it stored (over every delivery)
    to health metrics (`device_writes.batch_stored`)."""
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
        stored_any = locked.accepted_count > locked.already_stored_count
        batch_stored(subject, seen, stored_any=stored_any, pending_ids=pending_ids)
        if status == BatchStatus.FAILED:
            alert_raise(
                device=batch.device,
                alert_type=AlertType.SYNC_FAILURE,
                severity=AlertSeverity.WARNING,
                message=f"Upload {batch.device_batch_id} failed: {failure_reason}"[:255],
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
    return ProcessResult(Outcome.FINALISED)
