"""Storing clean device readings in `health_metrics_healthmetric`, idempotently, as fast as the database allows.

PostgreSQL: one `INSERT … SELECT … FROM unnest(…) ON CONFLICT (device_id, metric_type, recorded_at) DO NOTHING
RETURNING id` per chunk, with psycopg 3 binary parameters (`%b`): about half the rate of COPY on this kind of
machine, where Django's `bulk_create` reaches about a seventh (PERFORMANCE.md). Other databases (SQLite in
development and tests): `bulk_create(ignore_conflicts=True)`, counted with a query.

Either way what was stored comes from the database (RETURNING, or a query by id), never from the input: a
reading whose key (device, metric type, time) is already stored is not stored again, and is not counted as new.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import orjson
import psycopg
from django.db import connection

from health_metrics.models import HealthMetric, Source
from health_metrics.validation import CleanReading
from jeghealth_backend.encryption import encrypt

_TABLE = HealthMetric._meta.db_table
_EMPTY_JSON = "{}"

# Every column is named (the table has no database defaults). The person comes from the device, never the
# payload; `batch_id` is the id of our DeviceDataBatch row (unique everywhere, unlike the device's own batch_id).
_INSERT_SQL = f"""
INSERT INTO {_TABLE} (
    id, user_id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit,
    recorded_at, source, device_id, batch_id, is_manual_entry, notes, metadata, quality, is_anomaly,
    anomaly_reason, client_record_id, created_at
)
SELECT r.id, %b, r.metric_type, r.value, r.systolic_value, r.diastolic_value, r.unit, r.entered_value,
    r.entered_unit, r.recorded_at, %b, %b, %b, false, r.notes, r.metadata::jsonb, r.quality, false, '', NULL, %b
FROM unnest(
    %b::uuid[], %b::text[], %b::float8[], %b::float8[], %b::float8[], %b::text[], %b::float8[], %b::text[],
    %b::timestamptz[], %b::text[], %b::text[], %b::text[]
) AS r(id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit, recorded_at,
       notes, metadata, quality)
ON CONFLICT (device_id, metric_type, recorded_at) DO NOTHING
RETURNING id
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


def readings_insert(
    readings: Sequence[CleanReading],
    qualities: Sequence[str],
    *,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    batch_pk: uuid.UUID,
    now: datetime,
) -> list[uuid.UUID]:
    """Store READINGS (with their QUALITIES, health_metrics.quality) for the device's owner; returns the ids
    of the rows that were new. Runs in the caller's transaction."""
    if not readings:
        return []
    kwargs = {"user_id": user_id, "device_id": device_id, "batch_pk": batch_pk, "now": now}
    if connection.vendor == "postgresql":
        return _insert_unnest(readings, qualities, **kwargs)
    return _insert_orm(readings, qualities, **kwargs)


def _insert_unnest(readings, qualities, *, user_id, device_id, batch_pk, now) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in readings]
    params = [
        user_id,
        Source.DEVICE.value,
        device_id,
        batch_pk,
        now,
        ids,
        [r.metric_type for r in readings],
        [r.value for r in readings],
        [r.systolic_value for r in readings],
        [r.diastolic_value for r in readings],
        [r.unit for r in readings],
        [r.entered_value for r in readings],
        [r.entered_unit for r in readings],
        [r.recorded_at for r in readings],
        # Raw SQL bypasses the field's encryption: encrypt notes here as EncryptedTextField would.
        [encrypt(r.notes) if r.notes else "" for r in readings],
        [orjson.dumps(r.metadata).decode() if r.metadata else _EMPTY_JSON for r in readings],
        list(qualities),
    ]
    connection.ensure_connection()
    # Django's cursors bind parameters client-side; binary parameters need psycopg's own server-side cursor.
    # It runs on Django's connection, so inside the caller's transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_INSERT_SQL, params)
        return [row[0] for row in cursor.fetchall()]


def _insert_orm(readings, qualities, *, user_id, device_id, batch_pk, now) -> list[uuid.UUID]:
    rows = [
        HealthMetric(
            id=uuid.uuid4(),
            user_id=user_id,
            metric_type=r.metric_type,
            value=r.value,
            systolic_value=r.systolic_value,
            diastolic_value=r.diastolic_value,
            unit=r.unit,
            entered_value=r.entered_value,
            entered_unit=r.entered_unit,
            recorded_at=r.recorded_at,
            source=Source.DEVICE,
            device_id=device_id,
            batch_id=batch_pk,
            is_manual_entry=False,
            notes=r.notes,
            metadata=r.metadata,
            quality=quality,
            created_at=now,
        )
        for r, quality in zip(readings, qualities, strict=True)
    ]
    HealthMetric.objects.bulk_create(rows, ignore_conflicts=True)
    # ignore_conflicts hides which rows went in: ask for the ids we gave.
    ids = [row.id for row in rows]
    stored: list[uuid.UUID] = []
    for i in range(0, len(ids), 500):
        stored += HealthMetric.objects.filter(pk__in=ids[i : i + 500]).values_list("id", flat=True)
    return stored
