"""Delta sync: a person's changes feed (`changes/`) and the ETag of one reading.

Every write records what it changed in `ReadingChange`, in its own transaction (services.metrics_changed and
metric_delete call `changes_record`): a person's reading stored or edited is an `upsert` row, the readings one
device batch or import chunk stored are one `batch` row (expanded to its readings when read, so a batch of
thousands costs one row), a deletion a `delete` row (tombstone).

Order without gaps. Rows are read in `seq` order. A plain sequence alone could leave a gap: seq 11 commits, a
reader moves past it, then seq 10 commits. So a writer takes a shared advisory lock on the person (for its
transaction) before it allocates a seq, and the feed reads under the exclusive one: it waits for the person's
writes in flight, and while it reads no new seq can be allocated for the person. Every seq it sees is committed
and every later one will be higher. A person's writes wait at most one feed read (two small queries); readers
wait for a writer's transaction, which is why imports commit in chunks. SQLite has one writer at a time.

The cursor is opaque and signed: the position (seq, and the last reading id answered within a batch row)
and when it was issued. Tombstones are kept TOMBSTONE_DAYS; a cursor issued before that answers 410, since
deletions after it may be gone. An answer holds at most PAGE_SIZE changes and says `has_more`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import connection, transaction

from jeghealth_backend.api.exceptions import ApplicationError

from .fields import EXPORT_FIELDS, column
from .models import ChangeOp, HealthMetric, ReadingChange

PAGE_SIZE = 500
TOMBSTONE_DAYS = 30
_SALT = "health_metrics.changes"


class CursorInvalid(ApplicationError):
    status_code = 400
    default_code = "validation_error"
    default_detail = "The cursor is not one this service issued."

    def __init__(self):
        super().__init__(fields={"since": [self.default_detail]})


class PreconditionFailed(ApplicationError):
    status_code = 412
    default_code = "precondition_failed"
    default_detail = "The reading changed since you read it (If-Match): read it again."


class CursorExpired(ApplicationError):
    status_code = 410
    default_code = "gone"
    default_detail = f"The cursor is older than {TOMBSTONE_DAYS} days: sync again from the start."


# --- recording ------------------------------------------------------------------------------------------


def changes_record(
    *,
    user_id,
    upserts: Iterable = (),
    deletes: Iterable = (),
    batch_id: uuid.UUID | None = None,
    recorded_from: datetime | None = None,
    recorded_to: datetime | None = None,
) -> None:
    """Record in the caller's transaction that USER_ID's readings UPSERTS were stored or changed, DELETES
    deleted, or the readings of BATCH_ID recorded from RECORDED_FROM to RECORDED_TO stored."""
    upserts, deletes = [uuid.UUID(str(i)) for i in upserts], [uuid.UUID(str(i)) for i in deletes]
    if not upserts and not deletes and batch_id is None:
        return
    _lock(user_id, shared=True)
    superseded = upserts + deletes
    if superseded:
        # Only the latest state of a reading is ever answered: its earlier upsert rows say nothing more.
        ReadingChange.objects.filter(user_id=user_id, op=ChangeOp.UPSERT, reading_id__in=superseded).delete()
    rows = [ReadingChange(user_id=user_id, op=ChangeOp.UPSERT, reading_id=i) for i in upserts]
    rows += [ReadingChange(user_id=user_id, op=ChangeOp.DELETE, reading_id=i) for i in deletes]
    if batch_id is not None:
        rows.append(
            ReadingChange(
                user_id=user_id,
                op=ChangeOp.BATCH,
                batch_id=batch_id,
                recorded_from=recorded_from,
                recorded_to=recorded_to,
            )
        )
    ReadingChange.objects.bulk_create(rows)


def tombstones_prune(*, now: datetime) -> int:
    """Forget deletions older than TOMBSTONE_DAYS (beat, daily); returns how many."""
    deleted, _ = ReadingChange.objects.filter(
        op=ChangeOp.DELETE, created_at__lt=now - timedelta(days=TOMBSTONE_DAYS)
    ).delete()
    return deleted


# --- the feed -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Position:
    seq: int = -1
    # Inside a batch row: the last reading id answered (readings of a batch go by id).
    reading: str = ""


def _lock(user_id, *, shared: bool) -> None:
    """The person's changes lock for the caller's transaction: shared for writers, exclusive for the feed."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtextextended(%s, 0))", [f"hm-changes:{user_id}"])


def _decode(cursor: str | None, now: datetime) -> Position:
    if not cursor:
        return Position()
    try:
        data = signing.loads(cursor, salt=_SALT)
        position = Position(int(data["s"]), str(data.get("r", "")))
        issued = datetime.fromisoformat(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise CursorInvalid() from None
    if issued < now - timedelta(days=TOMBSTONE_DAYS):
        raise CursorExpired()
    return position


def _encode(position: Position, now: datetime) -> str:
    return signing.dumps({"s": position.seq, "r": position.reading, "t": now.isoformat()}, salt=_SALT)


def changes_page(*, user, since: str | None, now: datetime, serialize) -> dict[str, Any]:
    """`{"changes": [{"op", "id", "reading"?}], "cursor", "has_more"}`: USER's changes after SINCE, in order,
    at most PAGE_SIZE. SERIALIZE turns a reading into its answer."""
    position = _decode(since, now)
    with transaction.atomic():
        _lock(user.pk, shared=False)
        rows = list(ReadingChange.objects.filter(user=user, seq__gte=position.seq).order_by("seq")[: PAGE_SIZE + 1])
    changes: list[dict[str, Any]] = []
    last = position
    more = False
    upsert_ids = [r.reading_id for r in rows if r.op == ChangeOp.UPSERT]
    readings = {m.pk: m for m in HealthMetric.objects.filter(user=user, pk__in=upsert_ids)}
    for row in rows:
        if row.seq == position.seq and row.op != ChangeOp.BATCH:
            continue  # answered in the previous page
        if len(changes) >= PAGE_SIZE:
            more = True
            break
        if row.op == ChangeOp.BATCH:
            after = position.reading if row.seq == position.seq else ""
            room = PAGE_SIZE - len(changes)
            batch = _batch_readings(user, row, after, room + 1)
            for reading in batch[:room]:
                changes.append({"op": ChangeOp.UPSERT.value, "id": str(reading.pk), "reading": serialize(reading)})
            if len(batch) > room:
                last, more = Position(row.seq, str(batch[room - 1].pk) if room else after), True
                break
            last = Position(row.seq, str(batch[-1].pk) if batch else "~")
            continue
        if row.op == ChangeOp.UPSERT:
            reading = readings.get(row.reading_id)
            if reading is not None:  # deleted since: its tombstone follows
                changes.append({"op": row.op, "id": str(row.reading_id), "reading": serialize(reading)})
        else:
            changes.append({"op": row.op, "id": str(row.reading_id)})
        last = Position(row.seq, "~")
    return {"changes": changes, "cursor": _encode(last, now), "has_more": more}


def _batch_readings(user, row: ReadingChange, after: str, limit: int) -> list[HealthMetric]:
    if after == "~":
        return []
    readings = HealthMetric.objects.filter(
        user=user,
        device_data_batch_id=row.batch_id,
        recorded_at__gte=row.recorded_from,
        recorded_at__lte=row.recorded_to,
    )
    if after:
        readings = readings.filter(pk__gt=after)
    return list(readings.order_by("pk")[:limit])


# --- one reading's version ------------------------------------------------------------------------------


def reading_etag(metric: HealthMetric) -> str:
    """The ETag of one reading: a digest of every field it holds, so any change changes it."""
    values = [getattr(metric, column(name)) for name in EXPORT_FIELDS]
    return '"' + hashlib.sha256(repr(values).encode()).hexdigest()[:32] + '"'


def check_if_match(metric: HealthMetric, if_match: str | None) -> None:
    """Raise PreconditionFailed unless IF_MATCH (an `If-Match` header; None: no condition) names METRIC's ETag."""
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in tags and reading_etag(metric) not in tags:
        raise PreconditionFailed()
