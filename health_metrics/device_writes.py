"""The one door of device writes into health metrics (issue 21, point 3): judge a device batch's readings, store
them chunk by chunk, and say "this batch stored these".

IoT ingestion (iot_devices/ingestion.py) keeps the lease and the progress of a batch and calls only this module:
- `batch_judge`: the rules of manual entry (`clean_reading`, then `quality.assess` against the person's stored
  readings), the device's configured metric types and the duplicate rule, for readings START to END of a batch;
- `keys_accepted`: the keys an earlier delivery's committed chunks accepted, so a resumed delivery counts them;
- `chunk_store`: one chunk of accepted readings, in the caller's transaction (the first chunk of a delivery also
  marks the rollups of the batch's range stale);
- `batch_stored`: in the batch's final transaction, what the batch stored over all its deliveries: thresholds,
  then the rollup refresh and anomaly detection after commit (`metrics_changed`), or the stale marks withdrawn
  when it stored nothing new.

Chunk transactions commit without waiting for the disk (`synchronous_commit = off`, for that transaction only):
a chunk is a copy of readings the accepted upload already holds durably, and PostgreSQL's write-ahead log is
ordered, so a crash loses at most the last chunks together with their progress (the next delivery redoes them),
never a chunk without its progress. The batch's final transaction waits as usual, and its flush makes every
chunk before it durable too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from accounts.models import UserProfile

from .exceptions import OwnerGone, ReadingInvalid
from .models import Source
from .quality import assess
from .selectors import BatchReadings
from .services import metrics_changed, rollups_mark_pending, rollups_unmark_pending
from .storage import NewReadings, Origin, device_readings_insert
from .validation import CleanReading, clean_reading

__all__ = [
    "Accepted",
    "DeviceBatch",
    "Judged",
    "OwnerGone",
    "Span",
    "batch_judge",
    "batch_stored",
    "chunk_store",
    "keys_accepted",
]

Key = tuple[str, datetime]  # (metric type, recorded_at): a device's reading is unique by it


@dataclass(frozen=True, slots=True)
class DeviceBatch:
    """What health metrics needs of one device batch: our batch row's id, the device (its name is the readings'
    `source_name`), its owner, the metric types the device is configured for, and the moment readings are judged
    against (the upload's, on every delivery)."""

    pk: uuid.UUID
    device_id: uuid.UUID
    owner_id: uuid.UUID
    device_name: str
    allowed: frozenset[str]
    moment: datetime


class Accepted(NamedTuple):  # a tuple: made once per reading on the hot path
    index: int
    reading: CleanReading
    quality: str


@dataclass(slots=True)
class Judged:
    """The readings to store (with their quality) and the rejected ones' errors, both in index order."""

    accepted: list[Accepted]
    errors: list[dict]


@dataclass(frozen=True, slots=True)
class Span:
    """The metric types and time range of a batch's accepted readings: what its rollups and detection cover."""

    metric_types: frozenset[str]
    start: datetime
    end: datetime

    @classmethod
    def of(cls, keys: set[Key]) -> Span | None:
        if not keys:
            return None
        times = [t for _, t in keys]
        return cls(frozenset(m for m, _ in keys), min(times), max(times))


def batch_judge(batch: DeviceBatch, readings: list, start: int, end: int, seen: set[Key]) -> Judged:
    """Judge READINGS START to END (excluded) of BATCH at once, as one request of manual entry is judged; adds the
    accepted keys to SEEN (which holds those of earlier chunks): a reading whose key is there is a duplicate."""
    errors: list[dict] = []
    candidates: list[tuple[int, CleanReading]] = []
    for index in range(start, end):
        clean, error = _validate(readings[index], batch)
        if clean is None:
            errors.append({"index": index, **error})
        else:
            candidates.append((index, clean))
    accepted: list[Accepted] = []
    if candidates:
        assessment = assess(user_id=batch.owner_id, readings=[c for _, c in candidates], height_cm=_height(batch))
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
                accepted.append(Accepted(index, clean, assessment.qualities[position]))
    errors.sort(key=lambda error: error["index"])
    return Judged(accepted, errors)


def keys_accepted(batch: DeviceBatch, readings: list, end: int, rejected: Iterable[int]) -> set[Key]:
    """The keys of READINGS before END that were accepted (every one not in REJECTED that validates)."""
    rejected = set(rejected)
    keys: set[Key] = set()
    for index in range(end):
        if index not in rejected:
            clean, _ = _validate(readings[index], batch)
            if clean is not None:
                keys.add((clean.metric_type, clean.recorded_at))
    return keys


def chunk_store(
    batch: DeviceBatch, accepted: Sequence[Accepted], *, created_at: datetime, span: Span | None, skip_stored: bool
) -> tuple[int, list[str]]:
    """Store ACCEPTED readings of BATCH in the caller's transaction; (how many were inserted, pending rollup ids).

    With SPAN (a delivery's first chunk), the rollups of the batch's whole range are marked stale in the same
    transaction, with the readings. With `skip_stored=False` (the faster COPY) a reading the key (device, metric
    type, recorded_at) already holds raises IntegrityError and the caller's transaction is lost: redo it with
    skipping. Raises OwnerGone when the device or its owner was deleted meanwhile."""
    _commit_without_waiting()
    marks: list[str] = []
    if span is not None:
        marks = rollups_mark_pending(
            user_id=batch.owner_id, metric_types=span.metric_types, start=span.start, end=span.end
        )
    origin = Origin(
        user_id=batch.owner_id,
        created_at=created_at,
        source=Source.DEVICE.value,
        device_id=batch.device_id,
        batch_pk=batch.pk,
        source_name=batch.device_name,
    )
    new = NewReadings([item.reading for item in accepted], origin, [item.quality for item in accepted])
    return device_readings_insert(new, skip_stored=skip_stored), marks


def batch_stored(batch: DeviceBatch, keys: set[Key], *, stored_any: bool, pending_ids: list[str] | None) -> None:
    """In BATCH's final transaction: it accepted KEYS over all its deliveries, and stored some of them unless
    STORED_ANY is False (all were stored already by another batch). PENDING_IDS are the rollup marks of its
    first chunk (see `chunk_store`)."""
    span = Span.of(keys)
    if span is None or not stored_any:
        if pending_ids:
            rollups_unmark_pending(pending_ids=pending_ids)
        return
    metrics_changed(
        user_id=batch.owner_id,
        metric_types=span.metric_types,
        start=span.start,
        end=span.end,
        batch=BatchReadings(batch.pk, span.start, span.end),
        pending_ids=pending_ids,
    )


def _validate(raw, batch: DeviceBatch) -> tuple[CleanReading | None, dict]:
    try:
        clean = clean_reading(raw, now=batch.moment)
    except ReadingInvalid as exc:
        return None, {"code": "invalid", "message": exc.message, "fields": exc.fields}
    if clean.metric_type not in batch.allowed:
        message = f"This device is not configured to measure {clean.metric_type}."
        return None, {"code": "metric_not_configured", "message": message}
    return clean, {}


def _height(batch: DeviceBatch) -> float | None:
    return UserProfile.objects.filter(user_id=batch.owner_id).values_list("height_cm", flat=True).first()


def _commit_without_waiting() -> None:
    # See the module docstring: for this transaction only (SET LOCAL), and PostgreSQL only.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
