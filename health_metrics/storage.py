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
from datetime import datetime, timedelta

import orjson
import psycopg
from django.db import connection

from jeghealth_backend.encryption import encrypt
from jeghealth_backend.metric_catalog import CATALOG

from .arbitration import source_key
from .clinical import clinical_reason
from .exceptions import OwnerGone
from .models import MANUAL_SOURCE_NAME, ClientRecordKey, HealthMetric, Source
from .validation import CleanReading

# On PostgreSQL the parent of the monthly partitions (partitions.py): inserts name it and the rows are routed.
_TABLE = HealthMetric._meta.db_table
_KEYS = ClientRecordKey._meta.db_table
_USERS = HealthMetric._meta.get_field("user").related_model._meta.db_table
_DEVICES = HealthMetric._meta.get_field("device").related_model._meta.db_table


_EMPTY_JSON = "{}"
_EMPTY_OBJECT: dict = {}  # COPY's jsonb dumper takes the object itself


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
    recorded_at, source, device_id, device_data_batch_id, is_manual_entry, notes, metadata, quality, is_anomaly,
    anomaly_reason, client_record_id, created_at, recorded_offset_minutes, ended_at, source_name
)
SELECT {id_value}, %b, r.metric_type, r.value, r.systolic_value, r.diastolic_value, r.unit, r.entered_value,
    r.entered_unit, r.recorded_at, %b, %b, %b, r.is_manual_entry, r.notes, r.metadata::jsonb, r.quality,
    r.anomaly_reason <> '', r.anomaly_reason, r.client_record_id, %b, r.recorded_offset_minutes, r.ended_at,
    r.source_name
FROM unnest(
    {id_array}%b::text[], %b::float8[], %b::float8[], %b::float8[], %b::text[], %b::float8[], %b::text[],
    %b::timestamptz[], %b::bool[], %b::text[], %b::text[], %b::text[], %b::text[], %b::uuid[], %b::int2[],
    %b::timestamptz[], %b::text[]
) AS r({id_name}metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit,
       recorded_at, is_manual_entry, notes, metadata, quality, anomaly_reason, client_record_id,
       recorded_offset_minutes, ended_at, source_name)
{on_conflict}
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


_INSERT_RETURNING_SQL = _insert_sql(given_ids=True, on_conflict=_CONFLICT_RETURNING)
_INSERT_DEVICE_SKIPPING_SQL = _insert_sql(given_ids=False, on_conflict=_CONFLICT_DEVICE)


@dataclass(frozen=True, slots=True)
class Origin:
    """What every row of one insert shares: whose readings, from where, and when they were stored.
    `batch_pk` is the id of our `DeviceDataBatch` row (unique everywhere, unlike the device's own `device_batch_id`)."""

    user_id: uuid.UUID
    created_at: datetime
    source: str = Source.MANUAL.value
    device_id: uuid.UUID | None = None
    batch_pk: uuid.UUID | None = None
    # Every row's `source_name` unless NewReadings names each (an import's records come from many sources).
    source_name: str = MANUAL_SOURCE_NAME

    def params(self) -> list:
        # In the order of the statement's first placeholders.
        return [self.user_id, self.source, self.device_id, self.batch_pk, self.created_at]


@dataclass(frozen=True, slots=True)
class NewReadings:
    """Clean readings to store with their per-reading columns: QUALITIES (health_metrics.quality), and for
    manual entry the IDS (else the database makes them), `is_manual_entry` and `client_record_ids` (else False
    and None); SOURCE_NAMES per reading (else the origin's)."""

    readings: Sequence[CleanReading]
    origin: Origin
    qualities: Sequence[str]
    ids: Sequence[uuid.UUID] | None = None
    is_manual_entry: Sequence[bool] | None = None
    client_record_ids: Sequence[uuid.UUID | None] | None = None
    source_names: Sequence[str] | None = None

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
            [r.recorded_offset_minutes for r in readings],
            [r.ended_at for r in readings],
            self.names(),
        ]

    def only(self, keep: Sequence[int]) -> NewReadings:
        """These readings with only those at the positions KEEP, each with its own columns."""

        def pick(values):
            return None if values is None else [values[i] for i in keep]

        return replace(
            self,
            readings=pick(self.readings),
            qualities=pick(self.qualities),
            ids=pick(self.ids),
            is_manual_entry=pick(self.is_manual_entry),
            client_record_ids=pick(self.client_record_ids),
            source_names=pick(self.source_names),
        )

    def names(self) -> list[str]:
        if self.source_names is not None:
            return list(self.source_names)
        return [self.origin.source_name] * len(self.readings)

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
    new = _with_claimed_keys(new)
    if not new.readings:
        return set()
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

    With `skip_stored=False` (PostgreSQL only; a binary COPY, as fast as the machine writes) a reading already
    stored raises IntegrityError instead, and the caller's transaction is lost: the caller redoes it with skipping
    (one `INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING`). Raises OwnerGone."""
    if not new.readings:
        return 0
    lock_owners(new.origin)
    new = without_twins(new, cross_source_twins(new))  # the same instant another source measured: once
    if not new.readings:
        return 0
    if connection.vendor != "postgresql":
        return len(_insert_orm(replace(new, ids=[uuid.uuid4() for _ in new.readings])))
    with _cursor() as cursor, connection.wrap_database_errors:  # psycopg's errors as Django's (IntegrityError…)
        if not skip_stored:
            _copy_rows(cursor, new)
            return len(new.readings)
        # Prepared: a worker runs this statement for every chunk that overlaps stored readings.
        cursor.execute(_INSERT_DEVICE_SKIPPING_SQL, [*new.origin.params(), *new.column_params()], prepare=True)
        return cursor.rowcount


_COPY_SQL = f"""COPY {_TABLE} (
    id, user_id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit,
    recorded_at, source, device_id, device_data_batch_id, is_manual_entry, notes, metadata, quality, is_anomaly,
    anomaly_reason, client_record_id, created_at, recorded_offset_minutes, ended_at, source_name
) FROM STDIN (FORMAT BINARY)"""
_COPY_TYPES = [
    "uuid", "uuid", "text", "float8", "float8", "float8", "text", "float8", "text", "timestamptz", "text",
    "uuid", "uuid", "bool", "text", "jsonb", "text", "bool", "text", "uuid", "timestamptz", "int2", "timestamptz",
    "text",
]  # fmt: skip


def _copy_rows(cursor: psycopg.Cursor, new: NewReadings) -> None:
    """COPY NEW into the table (binary): the machine's fastest write, used where no reading is expected to be
    stored already, so that a conflict is an error (the unique key still decides, see device_readings_insert).
    Ids are made here: the table has no defaults (see `_insert_sql`)."""
    user_id, source, device_id, batch_pk, created_at = new.origin.params()
    reasons = new.anomaly_reasons()
    with cursor.copy(_COPY_SQL) as copy:
        copy.set_types(_COPY_TYPES)
        write = copy.write_row
        for r, quality, reason, name in zip(new.readings, new.qualities, reasons, new.names(), strict=True):
            write(
                (
                    uuid.uuid4(), user_id, r.metric_type, r.value, r.systolic_value, r.diastolic_value, r.unit,
                    r.entered_value, r.entered_unit, r.recorded_at, source, device_id, batch_pk, False,
                    encrypt(r.notes) if r.notes else "",
                    r.metadata or _EMPTY_OBJECT, quality, bool(reason), reason, None, created_at,
                    r.recorded_offset_minutes, r.ended_at, name,
                )
            )  # fmt: skip


# --- the same instant measured by two sources -------------------------------------------------------------

TWIN_WINDOW_SECONDS = 60

# A stored reading's source key in SQL, as `arbitration.source_key` makes it in Python.
_SOURCE_KEY_SQL = """CASE WHEN h.device_id IS NOT NULL THEN 'device:' || h.device_id::text
               WHEN h.source = 'import' THEN 'import:' || h.source_name
               WHEN h.source = 'manual' THEN 'manual' ELSE 'device:' END"""

_TWINS_SQL = f"""
SELECT r.i, (
    SELECT h.id FROM {_TABLE} h
    WHERE h.user_id = %b AND h.metric_type = r.metric_type AND h.ended_at IS NULL
      AND h.recorded_at BETWEEN r.recorded_at - make_interval(secs => %b) AND r.recorded_at + make_interval(secs => %b)
      AND h.value IS NOT DISTINCT FROM r.value AND h.systolic_value IS NOT DISTINCT FROM r.systolic_value
      AND h.diastolic_value IS NOT DISTINCT FROM r.diastolic_value
      AND {_SOURCE_KEY_SQL} <> r.source_key
    ORDER BY abs(extract(epoch FROM h.recorded_at - r.recorded_at)) LIMIT 1
)
FROM unnest(%b::int4[], %b::text[], %b::timestamptz[], %b::float8[], %b::float8[], %b::float8[], %b::text[])
    AS r(i, metric_type, recorded_at, value, systolic_value, diastolic_value, source_key)
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


_OTHER_SOURCE_SQL = f"""
SELECT EXISTS (
    SELECT 1 FROM {_TABLE} h
    WHERE h.user_id = %b AND h.metric_type = ANY(%b::text[]) AND h.ended_at IS NULL
      AND h.recorded_at BETWEEN %b AND %b AND {_SOURCE_KEY_SQL} <> %b
)
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


def _another_source_near(new: NewReadings, indexes: list[int], key: str) -> bool:
    """Whether the person holds any reading of another source than KEY near READINGS INDEXES of NEW (their types,
    within the twin window of their time range): one range scan of the (user, type, time) index. Most writes come
    from a person's only device, and then no reading needs the per-reading probe of `_TWINS_SQL`."""
    readings = [new.readings[i] for i in indexes]
    window = timedelta(seconds=TWIN_WINDOW_SECONDS)
    with _cursor() as cursor:
        cursor.execute(
            _OTHER_SOURCE_SQL,
            [
                new.origin.user_id,
                sorted({r.metric_type for r in readings}),
                min(r.recorded_at for r in readings) - window,
                max(r.recorded_at for r in readings) + window,
                key,
            ],
            prepare=True,
        )
        return bool(cursor.fetchone()[0])


def cross_source_twins(new: NewReadings) -> dict[int, uuid.UUID | int]:
    """The instantaneous readings of NEW that another source already measured: the same type and values within
    TWIN_WINDOW_SECONDS. `{index: id of the stored twin}`, or `{index: index of an earlier reading of NEW}` for
    twins inside NEW itself. A separate statement before the insert (the key of "same" spans rows, which no
    unique index can hold); two sources writing the same instant at the same moment may both store it."""
    origin = new.origin
    names = new.names()
    keys = [source_key(source=origin.source, device_id=origin.device_id, source_name=name) for name in names]
    candidates = [i for i, r in enumerate(new.readings) if r.ended_at is None and not _is_interval_type(r.metric_type)]
    twins: dict[int, uuid.UUID | int] = {}
    seen: dict[tuple, list[tuple[int, datetime, str]]] = {}
    for i in candidates:
        r = new.readings[i]
        group = seen.setdefault((r.metric_type, r.value, r.systolic_value, r.diastolic_value), [])
        for j, moment, key in group:
            if key != keys[i] and abs((moment - r.recorded_at).total_seconds()) <= TWIN_WINDOW_SECONDS:
                twins[i] = j
                break
        else:
            group.append((i, r.recorded_at, keys[i]))
    rest = [i for i in candidates if i not in twins]
    if not rest:
        return twins
    if connection.vendor == "postgresql":
        by_key: dict[str, list[int]] = {}
        for i in rest:
            by_key.setdefault(keys[i], []).append(i)
        # Only the readings of a source that has another source's readings near them need the probe.
        rest = [i for key, indexes in by_key.items() if _another_source_near(new, indexes, key) for i in indexes]
        if not rest:
            return twins
        readings = [new.readings[i] for i in rest]
        with _cursor() as cursor:
            cursor.execute(
                _TWINS_SQL,
                [
                    origin.user_id,
                    float(TWIN_WINDOW_SECONDS),
                    float(TWIN_WINDOW_SECONDS),
                    rest,
                    [r.metric_type for r in readings],
                    [r.recorded_at for r in readings],
                    [r.value for r in readings],
                    [r.systolic_value for r in readings],
                    [r.diastolic_value for r in readings],
                    [keys[i] for i in rest],
                ],
            )
            twins.update({i: twin for i, twin in cursor.fetchall() if twin is not None})
        return twins
    return twins | _twins_orm(new, rest, keys)


def _is_interval_type(metric_type: str) -> bool:
    return CATALOG[metric_type].target_aggregate == "sum"


def _twins_orm(new: NewReadings, indexes: list[int], keys: list[str]) -> dict[int, uuid.UUID]:
    window = timedelta(seconds=TWIN_WINDOW_SECONDS)
    readings = [new.readings[i] for i in indexes]
    stored = HealthMetric.objects.filter(
        user_id=new.origin.user_id,
        metric_type__in={r.metric_type for r in readings},
        ended_at__isnull=True,
        recorded_at__gte=min(r.recorded_at for r in readings) - window,
        recorded_at__lte=max(r.recorded_at for r in readings) + window,
    ).values_list(
        "id",
        "metric_type",
        "recorded_at",
        "value",
        "systolic_value",
        "diastolic_value",
        "source",
        "device_id",
        "source_name",
    )
    twins: dict[int, uuid.UUID] = {}
    for i, r in zip(indexes, readings, strict=True):
        for pk, metric_type, moment, value, systolic, diastolic, source, device_id, name in stored:
            if (
                (metric_type, value, systolic, diastolic)
                == (r.metric_type, r.value, r.systolic_value, r.diastolic_value)
                and abs(moment - r.recorded_at) <= window
                and source_key(source=source, device_id=device_id, source_name=name) != keys[i]
            ):
                twins[i] = pk
                break
    return twins


def without_twins(new: NewReadings, twins: dict[int, object]) -> NewReadings:
    """NEW less the readings at the indexes of TWINS."""
    if not twins:
        return new
    return new.only([i for i in range(len(new.readings)) if i not in twins])


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


def _with_claimed_keys(new: NewReadings) -> NewReadings:
    """NEW less the readings whose offline-sync key (`client_record_id`) another reading holds, after claiming the
    free keys for the others in the caller's transaction; the first reading of a key in NEW wins. Manual entry
    and imports (whose record identity is the key) both pass here, so a replay or a re-import stores nothing."""
    if new.client_record_ids is None:
        return new
    keyed = {c: r for r, c in reversed(list(zip(new.ids, new.client_record_ids, strict=True))) if c is not None}
    if not keyed:
        return new
    claimed = client_records_claim(user_id=new.origin.user_id, claims=list(keyed.items()))
    taken = [c for c, reading_id in keyed.items() if reading_id not in claimed]
    if taken:
        claimed |= _claim_stale_keys(user_id=new.origin.user_id, keyed={c: keyed[c] for c in taken})
    keep = [i for i, (r, c) in enumerate(zip(new.ids, new.client_record_ids, strict=True)) if c is None or r in claimed]
    return new.only(keep)


def _claim_stale_keys(*, user_id: uuid.UUID, keyed: dict[uuid.UUID, uuid.UUID]) -> set[uuid.UUID]:
    """A key held by a reading that no longer exists (deleted by a path that did not free it, e.g. the admin) is
    freed and claimed again for KEYED ({client_record_id: reading id}); returns the reading ids that got one."""
    held = list(ClientRecordKey.objects.filter(user_id=user_id, client_record_id__in=list(keyed)))
    live = set(
        HealthMetric.objects.filter(user_id=user_id, pk__in=[k.reading_id for k in held]).values_list("pk", flat=True)
    )
    stale = [key.client_record_id for key in held if key.reading_id not in live]
    if not stale:
        return set()
    ClientRecordKey.objects.filter(user_id=user_id, client_record_id__in=stale).delete()
    return client_records_claim(user_id=user_id, claims=[(c, keyed[c]) for c in stale])


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
            device_data_batch_id=origin.batch_pk,
            is_manual_entry=manual,
            notes=r.notes,
            metadata=r.metadata,
            quality=quality,
            is_anomaly=bool(reason),
            anomaly_reason=reason,
            client_record_id=client_record_id,
            created_at=origin.created_at,
            recorded_offset_minutes=r.recorded_offset_minutes,
            ended_at=r.ended_at,
            source_name=source_name,
        )
        for r, reading_id, quality, reason, manual, client_record_id, source_name in zip(
            new.readings,
            new.ids,
            new.qualities,
            reasons,
            new.is_manual_entry if new.is_manual_entry is not None else [False] * count,
            new.client_record_ids if new.client_record_ids is not None else [None] * count,
            new.names(),
            strict=True,
        )
    ]


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    # Django's cursors bind parameters client-side; binary parameters need psycopg's own cursor, on Django's
    # connection, so inside the caller's transaction.
    return psycopg.Cursor(connection.connection)


def _insert_orm(new: NewReadings) -> set[uuid.UUID]:
    ids = list(new.ids)
    # An import may give ids of ours (a FHIR round trip): those already stored were not inserted now. (SQLite
    # serialises writers, so looking before the insert is safe here.)
    before = _stored_ids(ids)
    HealthMetric.objects.bulk_create(metric_rows(new), batch_size=500, ignore_conflicts=True)
    # ignore_conflicts hides which rows went in: ask for the ids we gave.
    return _stored_ids(ids) - before


def _stored_ids(ids: list[uuid.UUID]) -> set[uuid.UUID]:
    stored: set[uuid.UUID] = set()
    for i in range(0, len(ids), 500):
        stored.update(HealthMetric.objects.filter(pk__in=ids[i : i + 500]).values_list("id", flat=True))
    return stored
