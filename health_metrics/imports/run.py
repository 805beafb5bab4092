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
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import IO

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

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


def upload_storage():
    return storages[settings.IMPORT_STORAGE_ALIAS]


def import_create(*, user, format: str, upload) -> ImportJob:
    """Save UPLOAD on the report storage and record the pending import (the view enqueues it after commit)."""
    job = ImportJob(user=user, format=format)
    # Slow I/O first, outside any transaction; the name is ours, never the client's.
    job.file_name = upload_storage().save(f"imports/{job.pk}.upload", upload)
    job.save()
    return job


def import_run(*, job_id) -> None:
    """Run the import JOB_ID once: a pending job is claimed by a conditional update, so a redelivered task
    finds it taken and does nothing."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        logger.info("health_metrics_import_already_claimed", extra={"import_id": str(job_id)})
        return
    job = ImportJob.objects.select_related("user__profile").get(pk=job_id)
    try:
        with _opened(job) as stream:
            source = _reader(job.format, stream)
            _store(job, source)
        job.status = ImportStatus.COMPLETED
    except FileInvalid as exc:
        job.status, job.error = ImportStatus.FAILED, str(exc)[:500]
    finally:
        job.finished_at = timezone.now()
        job.save()
        try:
            upload_storage().delete(job.file_name)
        except OSError:
            logger.exception("health_metrics_import_upload_not_deleted", extra={"import_id": str(job.pk)})


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


def _store(job: ImportJob, records: Iterable[Record]) -> None:
    user = job.user
    height = float(user.profile.height_cm) if user.profile.height_cm else None
    counts: Counter = Counter()
    iterator = iter(records)
    while chunk := list(islice(iterator, CHUNK)):
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
    job.counts_by_type = dict(sorted(counts.items()))


def _refuse(job: ImportJob, record: Record, code: str, message: str) -> None:
    job.skipped_count += 1
    if len(job.errors) < MAX_ERRORS:
        job.errors.append({"position": record.position, "code": code, "message": message})


def _store_chunk(job: ImportJob, user, height, clean: list[tuple[Record, CleanReading]], counts: Counter) -> None:
    with transaction.atomic():
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
