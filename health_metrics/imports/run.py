"""Running one import: decide that the file is whole, then store its records in chunks through the same
validation as manual entry (`clean_reading`, then `quality.assess` against the person's history).

- Whole first: the file is read once to the end (a zip's checksums, the XML's well-formedness, the JSON's
  shape) before anything is stored; a broken file fails the import with nothing stored.
- Then chunk by chunk (CHUNK records, one short transaction each, so the changes feed and rollups never wait
  long): refused records are listed (`position`, `code`, `message`; at most MAX_ERRORS) and the rest stored.
- Nothing twice: each record's identity (its source, type, times and value, records.Record.identity) is the
  reading's `client_record_id`, whose unique key skips it on a re-import; a FHIR round trip keeps our reading
  ids. The same instant from another source within 60 s is stored once (storage.cross_source_twins).
- The upload is deleted from storage when the import ends, whatever the outcome.

Never lost, never done twice (the pattern of device batches, iot_devices/ingestion.py):
- The job row is the outbox: the task is enqueued after commit, and when the broker is down the upload is still
  answered 202; the sweeper (`imports_requeue_stale`, every minute from beat) enqueues again a job still pending
  a lease period after upload, or running with an expired lease (its worker died).
- A delivery claims the job with a conditional update and a lease token (pending, or running with a lease run
  out). Each chunk commits its readings with the job's progress (records consumed, counts, errors) and a renewed
  lease, only while the token is still the job's; a delivery that took over resumes at the first record no
  committed chunk consumed, so the counts stay exact. After MAX_ATTEMPTS claims the job fails (poison guard).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from itertools import islice
from typing import IO

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from jeghealth_backend.celery import enqueue_or_log

from ..exceptions import ReadingInvalid
from ..models import ImportFormat, ImportJob, ImportStatus, Source
from ..quality import assess
from ..selectors import BatchReadings
from ..services import metrics_changed
from ..storage import NewReadings, Origin, cross_source_twins, readings_insert, without_twins
from ..validation import CleanReading, clean_reading
from . import apple_health, fhir, health_connect
from .records import FileInvalid, Record

logger = logging.getLogger(__name__)

CHUNK = 2000
MAX_ERRORS = 100
# A chunk of 2,000 records takes a second or two; the lease is renewed by every chunk and after the whole-file
# check (a large export takes minutes to read through once).
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5


class _LeaseLost(Exception):
    """Rolls back a chunk whose delivery no longer holds the job."""


def upload_storage():
    return storages[settings.IMPORT_STORAGE_ALIAS]


def import_create(*, user, format: str, upload) -> ImportJob:
    """Save UPLOAD on the report storage, record the pending import and enqueue it after commit. A broker that
    cannot be reached leaves the job pending for the sweeper: the upload is accepted all the same."""
    job = ImportJob(user=user, format=format)
    # Slow I/O first, outside any transaction; the name is ours, never the client's.
    job.file_name = upload_storage().save(f"imports/{job.pk}.upload", upload)
    job.save()
    transaction.on_commit(partial(import_enqueue, job_id=job.pk), robust=True)
    return job


def import_enqueue(*, job_id) -> bool:
    """Hand the import to a worker; False (logged) when the broker cannot be reached."""
    from ..tasks import run_import

    return enqueue_or_log(
        run_import, args=[str(job_id)], event="health_metrics_import_enqueue_failed", extra={"import_id": str(job_id)}
    )


def imports_requeue_stale(*, now: datetime | None = None, limit: int = 100) -> int:
    """Enqueue again the imports a worker should be running: pending a lease period after upload (the enqueue
    failed or the message was lost), or running with an expired lease (the worker died). How many were enqueued;
    a duplicate message is harmless (the claim lets one delivery work)."""
    now = now or timezone.now()
    stale = (
        ImportJob.objects.filter(
            Q(status=ImportStatus.PENDING, created_at__lt=now - LEASE)
            | Q(status=ImportStatus.RUNNING, lease_expires_at__lt=now)
            # Running without a lease: claimed before imports had leases, by a worker long gone.
            | Q(status=ImportStatus.RUNNING, lease_expires_at__isnull=True, started_at__lt=now - LEASE)
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    enqueued = sum(import_enqueue(job_id=job_id) for job_id in stale)
    if enqueued:
        logger.info("health_metrics_imports_requeued", extra={"count": enqueued})
    return enqueued


def import_run(*, job_id) -> None:
    """Run the import JOB_ID to its end, or step aside: a job is claimed by a conditional update (pending, or
    running with an expired lease), so a redelivered task finds it held and does nothing."""
    token, now = uuid.uuid4(), timezone.now()
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ImportStatus.PENDING)
            | Q(status=ImportStatus.RUNNING, lease_expires_at__lt=now)
            | Q(status=ImportStatus.RUNNING, lease_expires_at__isnull=True, started_at__lt=now - LEASE)
        )
        .update(
            status=ImportStatus.RUNNING,
            started_at=Coalesce("started_at", Value(now)),  # a resumed import keeps its first start
            lease_token=token,
            lease_expires_at=now + LEASE,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        logger.info("health_metrics_import_already_claimed", extra={"import_id": str(job_id)})
        return
    job = ImportJob.objects.select_related("user__profile").get(pk=job_id)
    if job.processed_count:
        logger.info("health_metrics_import_resumed", extra={"import_id": str(job.pk), "at": job.processed_count})
    try:
        if job.attempts > MAX_ATTEMPTS:
            job.status = ImportStatus.FAILED
            job.error = f"Gave up after {job.attempts - 1} interrupted attempts."
        else:
            with _opened(job) as stream:
                source = _reader(job.format, stream)
                _renew(job, token)
                _store(job, token, source)
            job.status = ImportStatus.COMPLETED
    except FileInvalid as exc:
        job.status, job.error = ImportStatus.FAILED, str(exc)[:500]
    except _LeaseLost:
        logger.warning("health_metrics_import_lease_lost", extra={"import_id": str(job.pk)})
        return  # the delivery that took over ends it
    _end(job, token)


def _end(job: ImportJob, token: uuid.UUID) -> None:
    """The final status, only while the lease is ours; then the upload is deleted."""
    job.finished_at = timezone.now()
    ended = ImportJob.objects.filter(pk=job.pk, lease_token=token).update(
        status=job.status,
        error=job.error,
        finished_at=job.finished_at,
        counts_by_type=job.counts_by_type,
        lease_token=None,
        lease_expires_at=None,
    )
    if not ended:
        return
    try:
        upload_storage().delete(job.file_name)
    except OSError:
        logger.exception("health_metrics_import_upload_not_deleted", extra={"import_id": str(job.pk)})


def _renew(job: ImportJob, token: uuid.UUID) -> None:
    if not ImportJob.objects.filter(pk=job.pk, lease_token=token).update(lease_expires_at=timezone.now() + LEASE):
        raise _LeaseLost


@contextmanager
def _opened(job: ImportJob) -> Iterator[IO[bytes]]:
    stream = upload_storage().open(job.file_name, "rb")
    try:
        yield stream
    finally:
        stream.close()


def _reader(format: str, stream: IO[bytes]) -> Iterable[Record]:
    """The records of STREAM, once the file is known to be whole (raises FileInvalid otherwise)."""
    if format == ImportFormat.APPLE_HEALTH:
        apple_health.check_whole(stream)
        stream.seek(0)
        return apple_health.records(stream)
    if format == ImportFormat.FHIR:
        return fhir.records(fhir.load(stream))
    return health_connect.records(health_connect.load(stream))


def _store(job: ImportJob, token: uuid.UUID, records: Iterable[Record]) -> None:
    """Store RECORDS chunk by chunk from the first one no committed chunk consumed (the readers are
    deterministic: the same file gives the same records in the same order)."""
    user = job.user
    height = float(user.profile.height_cm) if user.profile.height_cm else None
    counts: Counter = Counter(job.counts_by_type)
    iterator = islice(iter(records), job.processed_count, None)
    while chunk := list(islice(iterator, CHUNK)):
        # A lost lease rolls the chunk back and ends this delivery (import_run), its in-memory counts unused.
        with transaction.atomic():
            _store_records(job, user, height, chunk, counts)
            _progress(job, token, len(chunk), counts)
    job.counts_by_type = dict(sorted(counts.items()))


def _store_records(job: ImportJob, user, height, chunk: list[Record], counts: Counter) -> None:
    now = timezone.now()
    clean: list[tuple[Record, CleanReading]] = []
    for record in chunk:
        if record.problem:
            _refuse(job, record, "unsupported_record", record.problem)
            continue
        try:
            clean.append((record, clean_reading(record.raw, now=now)))
        except ReadingInvalid as exc:
            _refuse(job, record, "invalid_record", exc.message)
    if clean:
        _store_chunk(job, user, height, clean, counts)


def _progress(job: ImportJob, token: uuid.UUID, consumed: int, counts: Counter) -> None:
    """In the chunk's transaction: the job's progress and counts, and a renewed lease, if the token is still
    the job's (else the chunk rolls back: another delivery holds the job)."""
    moved = ImportJob.objects.filter(pk=job.pk, lease_token=token, processed_count=job.processed_count).update(
        processed_count=job.processed_count + consumed,
        created_count=job.created_count,
        duplicate_count=job.duplicate_count,
        skipped_count=job.skipped_count,
        errors=job.errors,
        counts_by_type=dict(sorted(counts.items())),
        lease_expires_at=timezone.now() + LEASE,
    )
    if not moved:
        raise _LeaseLost
    job.processed_count += consumed


def _refuse(job: ImportJob, record: Record, code: str, message: str) -> None:
    job.skipped_count += 1
    if len(job.errors) < MAX_ERRORS:
        job.errors.append({"position": record.position, "code": code, "message": message})


def _store_chunk(job: ImportJob, user, height, clean: list[tuple[Record, CleanReading]], counts: Counter) -> None:
    """Judge and store CLEAN records in the caller's (the chunk's) transaction."""
    judged = assess(user_id=user.pk, readings=[c for _, c in clean], height_cm=height)
    kept = []
    for index, (record, reading) in enumerate(clean):
        if index in judged.refusals:
            fields = judged.refusals[index]
            _refuse(job, record, "invalid_record", next(iter(fields.values()))[0])
        else:
            kept.append((record, reading, judged.qualities[index]))
    if not kept:
        return
    chunk_id = uuid.uuid4()
    new = NewReadings(
        [reading for _, reading, _ in kept],
        Origin(user_id=user.pk, created_at=timezone.now(), source=Source.IMPORT.value, batch_pk=chunk_id),
        [quality for _, _, quality in kept],
        ids=[record.reading_id or uuid.uuid4() for record, _, _ in kept],
        is_manual_entry=[False] * len(kept),
        client_record_ids=[record.identity() for record, _, _ in kept],
        source_names=[record.source for record, _, _ in kept],
    )
    twins = cross_source_twins(new)
    inserted = readings_insert(without_twins(new, twins))
    job.created_count += len(inserted)
    job.duplicate_count += len(kept) - len(inserted)
    stored = [reading for reading_id, reading in zip(new.ids, new.readings, strict=True) if reading_id in inserted]
    if not stored:
        return
    counts.update(r.metric_type for r in stored)
    start, end = min(r.recorded_at for r in stored), max(r.recorded_at for r in stored)
    metrics_changed(
        user_id=user.pk,
        metric_types={r.metric_type for r in stored},
        start=start,
        end=end,
        batch=BatchReadings(chunk_id, start, end),
    )
