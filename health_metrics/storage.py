"""Inserting clean readings, idempotently, in one statement: the one raw write path of `HealthMetric`, shared by
manual entry (`readings_insert`, from services) and IoT ingestion (`device_readings_insert`).

PostgreSQL: one `INSERT … SELECT … FROM unnest(…) ON CONFLICT … DO NOTHING` with psycopg 3 binary parameters
(`%b`), PERFORMANCE.md's fast idempotent path (Django's `bulk_create` reaches about a third of its rate). The
unique keys decide, never a look-up before the insert: (user, client_record_id) skips a replayed offline-sync
reading, (device, metric type, recorded_at) a reading a retried or overlapping device upload already stored.
What was stored comes from the database (RETURNING, or the row count), never from the input.
Other databases (SQLite in development and tests): `bulk_create(ignore_conflicts=True)` and a query by id.

The readings table has no foreign-key constraints (models.py says why): before inserting, `lock_owners` takes a
key-share lock on the person's row and the device's, once per transaction instead of once per row, and a person's
or device's deletion locks that row first. Either the deletion waits for the insert to commit (and then deletes or
unlinks its readings), or the insert finds the row gone and stores nothing (`OwnerGone`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import orjson
import psycopg
from django.db import connection

from jeghealth_backend.api.exceptions import ApplicationError
from jeghealth_backend.encryption import encrypt

from .clinical import clinical_reason
from .models import ClientRecordKey, HealthMetric, Source
from .validation import CleanReading

# On PostgreSQL the parent of the monthly partitions (partitions.py): inserts name it and the rows are routed.
_TABLE = HealthMetric._meta.db_table
_KEYS = ClientRecordKey._meta.db_table
_USERS = HealthMetric._meta.get_field("user").related_model._meta.db_table
_DEVICES = HealthMetric._meta.get_field("device").related_model._meta.db_table


class OwnerGone(ApplicationError):
    """The person or device of an insert was deleted while it ran: nothing is stored for them."""

    status_code = 409
    default_code = "conflict"
    default_detail = "The account or device these readings belong to no longer exists."


_EMPTY_JSON = "{}"


# Without a target, DO NOTHING skips a row any unique key holds (manual entry's partial (user, client_record_id));
# device rows have one key that can conflict, and naming it spares the others' checks.
_CONFLICT_RETURNING = "ON CONFLICT DO NOTHING RETURNING id"
_CONFLICT_DEVICE = "ON CONFLICT (device_id, metric_type, recorded_at) DO NOTHING"


def _insert_sql(*, given_ids: bool, on_conflict: str) -> str:
    """Manual entry gives the ids (its answer shows them) and asks which rows went in (RETURNING). Device
    ingestion only counts them: the database makes the ids, and the new rows are found later by their batch
    (`selectors.BatchReadings`), which spares converting thousands of UUIDs each way."""
    id_value, id_array, id_name = ("r.id", "%b::uuid[], ", "id, ") if given_ids else ("gen_random_uuid()", "", "")
    # Every column is named (the table has no database defaults, PERFORMANCE.md: per-row SQL defaults are slow).
    return f"""
INSERT INTO {_TABLE} (
    id, user_id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit,
    recorded_at, source, device_id, batch_id, is_manual_entry, notes, metadata, quality, is_anomaly,
    anomaly_reason, client_record_id, created_at
)
SELECT {id_value}, %b, r.metric_type, r.value, r.systolic_value, r.diastolic_value, r.unit, r.entered_value,
    r.entered_unit, r.recorded_at, %b, %b, %b, r.is_manual_entry, r.notes, r.metadata::jsonb, r.quality,
    r.anomaly_reason <> '', r.anomaly_reason, r.client_record_id, %b
FROM unnest(
    {id_array}%b::text[], %b::float8[], %b::float8[], %b::float8[], %b::text[], %b::float8[], %b::text[],
    %b::timestamptz[], %b::bool[], %b::text[], %b::text[], %b::text[], %b::text[], %b::uuid[]
) AS r({id_name}metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit,
       recorded_at, is_manual_entry, notes, metadata, quality, anomaly_reason, client_record_id)
{on_conflict}
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


_INSERT_RETURNING_SQL = _insert_sql(given_ids=True, on_conflict=_CONFLICT_RETURNING)
_INSERT_DEVICE_SKIPPING_SQL = _insert_sql(given_ids=False, on_conflict=_CONFLICT_DEVICE)
# Speculative insertion (ON CONFLICT) costs about a tenth of the insert's time; a caller that expects no
# reading to be stored already (a device's new upload) can insert plainly and redo with skipping on conflict.
_INSERT_DEVICE_PLAIN_SQL = _insert_sql(given_ids=False, on_conflict="")


@dataclass(frozen=True, slots=True)
class Origin:
    """What every row of one insert shares: whose readings, from where, and when they were stored.
    `batch_pk` is the id of our `DeviceDataBatch` row (unique everywhere, unlike the device's own batch_id)."""

    user_id: uuid.UUID
    created_at: datetime
    source: str = Source.MANUAL.value
    device_id: uuid.UUID | None = None
    batch_pk: uuid.UUID | None = None

    def params(self) -> list:
        # In the order of the statement's first placeholders.
        return [self.user_id, self.source, self.device_id, self.batch_pk, self.created_at]


@dataclass(frozen=True, slots=True)
class NewReadings:
    """Clean readings to store with their per-reading columns: QUALITIES (health_metrics.quality), and for
    manual entry the IDS (else the database makes them), `is_manual_entry` and `client_record_ids` (else False
    and None)."""

    readings: Sequence[CleanReading]
    origin: Origin
    qualities: Sequence[str]
    ids: Sequence[uuid.UUID] | None = None
    is_manual_entry: Sequence[bool] | None = None
    client_record_ids: Sequence[uuid.UUID | None] | None = None

    def column_params(self) -> list:
        """The per-reading arrays the unnest insert binds after the ids."""
        readings, count = self.readings, len(self.readings)
        return [
            [r.metric_type for r in readings],
            [r.value for r in readings],
            [r.systolic_value for r in readings],
            [r.diastolic_value for r in readings],
            [r.unit for r in readings],
            [r.entered_value for r in readings],
            [r.entered_unit for r in readings],
            [r.recorded_at for r in readings],
            list(self.is_manual_entry) if self.is_manual_entry is not None else [False] * count,
            # Raw SQL bypasses the field's encryption: encrypt notes here as EncryptedTextField would.
            [encrypt(r.notes) if r.notes else "" for r in readings],
            [orjson.dumps(r.metadata).decode() if r.metadata else _EMPTY_JSON for r in readings],
            list(self.qualities),
            self.anomaly_reasons(),
            list(self.client_record_ids) if self.client_record_ids is not None else [None] * count,
        ]

    def anomaly_reasons(self) -> list[str]:
        """Per reading, the clinical thresholds it crosses: flagged as it is stored (clinical.py)."""
        return [clinical_reason(r) for r in self.readings]


def lock_owners(origin: Origin) -> None:
    """Key-share lock ORIGIN's person row (and device row) for the caller's transaction; raise OwnerGone when one
    no longer exists. What the foreign keys would check per row, once (see the module docstring)."""
    if connection.vendor == "postgresql":
        if origin.device_id is None:
            sql, params = f"SELECT 1 FROM {_USERS} WHERE id = %s FOR KEY SHARE", [origin.user_id]  # noqa: S608
        else:
            sql = f"SELECT 1 FROM {_USERS} u, {_DEVICES} d WHERE u.id = %s AND d.id = %s FOR KEY SHARE"  # noqa: S608
            params = [origin.user_id, origin.device_id]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone() is not None
    else:
        # SQLite serialises writers: the rows being there now is enough.
        user = HealthMetric._meta.get_field("user").related_model
        found = user.objects.filter(pk=origin.user_id).exists()
        if found and origin.device_id is not None:
            device = HealthMetric._meta.get_field("device").related_model
            found = device.objects.filter(pk=origin.device_id).exists()
    if not found:
        raise OwnerGone()


def readings_insert(new: NewReadings) -> set[uuid.UUID]:
    """Insert NEW (ids given) in the caller's transaction, skipping those a unique key already holds; returns
    the ids of the rows inserted. Raises OwnerGone."""
    if not new.readings:
        return set()
    lock_owners(new.origin)
    if connection.vendor == "postgresql":
        with _cursor() as cursor:
            with connection.wrap_database_errors:
                cursor.execute(_INSERT_RETURNING_SQL, [*new.origin.params(), list(new.ids), *new.column_params()])
            return {row[0] for row in cursor.fetchall()}
    return _insert_orm(new)


def device_readings_insert(new: NewReadings, *, skip_stored: bool = True) -> int:
    """Insert a device batch's NEW readings (its origin names the device and the batch) in the caller's
    transaction, skipping those the key (device, metric type, recorded_at) already holds; returns how many were
    inserted.

    With `skip_stored=False` (PostgreSQL only; the faster statement) a reading already stored raises
    IntegrityError instead, and the caller's transaction is lost: the caller redoes it with skipping. Raises
    OwnerGone."""
    if not new.readings:
        return 0
    lock_owners(new.origin)
    if connection.vendor == "postgresql":
        with _cursor() as cursor:
            statement = _INSERT_DEVICE_SKIPPING_SQL if skip_stored else _INSERT_DEVICE_PLAIN_SQL
            with connection.wrap_database_errors:  # psycopg's errors as Django's (IntegrityError, …)
                cursor.execute(statement, [*new.origin.params(), *new.column_params()])
            return cursor.rowcount
    return len(_insert_orm(replace(new, ids=[uuid.uuid4() for _ in new.readings])))


_CLAIM_SQL = f"""
INSERT INTO {_KEYS} (user_id, client_record_id, reading_id)
SELECT %b, k.client_record_id, k.reading_id FROM unnest(%b::uuid[], %b::uuid[]) AS k(client_record_id, reading_id)
ON CONFLICT DO NOTHING RETURNING reading_id
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


def client_records_claim(*, user_id: uuid.UUID, claims: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[uuid.UUID]:
    """Claim USER_ID's offline-sync keys, CLAIMS being (client_record_id, reading_id) pairs, in the caller's
    transaction; returns the reading ids whose key was free. A key already held, or claimed twice in CLAIMS, is
    skipped; a racing claim of the same key waits on its primary key until the first commits, then skips it."""
    if not claims:
        return set()
    if connection.vendor == "postgresql":
        with _cursor() as cursor:
            with connection.wrap_database_errors:
                cursor.execute(_CLAIM_SQL, [user_id, [c for c, _ in claims], [r for _, r in claims]])
            return {row[0] for row in cursor.fetchall()}
    ClientRecordKey.objects.bulk_create(
        [ClientRecordKey(user_id=user_id, client_record_id=c, reading_id=r) for c, r in claims], ignore_conflicts=True
    )
    wanted = [r for _, r in claims]
    return set(
        ClientRecordKey.objects.filter(user_id=user_id, reading_id__in=wanted).values_list("reading_id", flat=True)
    )


def metric_rows(new: NewReadings) -> list[HealthMetric]:
    """Unsaved `HealthMetric` objects of NEW (ids given), as the inserts store them (manual entry answers with
    them; the SQLite path saves them)."""
    count = len(new.readings)
    origin = new.origin
    reasons = new.anomaly_reasons()
    return [
        HealthMetric(
            id=reading_id,
            user_id=origin.user_id,
            metric_type=r.metric_type,
            value=r.value,
            systolic_value=r.systolic_value,
            diastolic_value=r.diastolic_value,
            unit=r.unit,
            entered_value=r.entered_value,
            entered_unit=r.entered_unit,
            recorded_at=r.recorded_at,
            source=origin.source,
            device_id=origin.device_id,
            batch_id=origin.batch_pk,
            is_manual_entry=manual,
            notes=r.notes,
            metadata=r.metadata,
            quality=quality,
            is_anomaly=bool(reason),
            anomaly_reason=reason,
            client_record_id=client_record_id,
            created_at=origin.created_at,
        )
        for r, reading_id, quality, reason, manual, client_record_id in zip(
            new.readings,
            new.ids,
            new.qualities,
            reasons,
            new.is_manual_entry if new.is_manual_entry is not None else [False] * count,
            new.client_record_ids if new.client_record_ids is not None else [None] * count,
            strict=True,
        )
    ]


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    # Django's cursors bind parameters client-side; binary parameters need psycopg's own cursor, on Django's
    # connection, so inside the caller's transaction.
    return psycopg.Cursor(connection.connection)


def _insert_orm(new: NewReadings) -> set[uuid.UUID]:
    HealthMetric.objects.bulk_create(metric_rows(new), batch_size=500, ignore_conflicts=True)
    # ignore_conflicts hides which rows went in: ask for the ids we gave.
    ids = list(new.ids)
    stored: set[uuid.UUID] = set()
    for i in range(0, len(ids), 500):
        stored.update(HealthMetric.objects.filter(pk__in=ids[i : i + 500]).values_list("id", flat=True))
    return stored
