"""Inserting a person's manual readings, idempotently, in one statement.

PostgreSQL: one `INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING RETURNING id` with psycopg 3 binary
parameters (`%b`), PERFORMANCE.md's fast idempotent path (Django's `bulk_create` reaches about a third of its
rate). `DO NOTHING` without a conflict target covers the partial unique key (user, client_record_id): a replayed
offline-sync reading is skipped, and RETURNING says which rows are new. Other databases (SQLite in development
and tests): `bulk_create(ignore_conflicts=True)` and a query by id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import orjson
import psycopg
from django.db import connection

from jeghealth_backend.encryption import encrypt

from .models import HealthMetric

_TABLE = HealthMetric._meta.db_table

_INSERT_SQL = f"""
INSERT INTO {_TABLE} (
    id, user_id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit,
    recorded_at, source, device_id, batch_id, is_manual_entry, notes, metadata, quality, is_anomaly,
    anomaly_reason, client_record_id, created_at
)
SELECT r.id, %b, r.metric_type, r.value, r.systolic_value, r.diastolic_value, r.unit, r.entered_value,
    r.entered_unit, r.recorded_at, 'manual', NULL, NULL, r.is_manual_entry, r.notes, r.metadata::jsonb, r.quality,
    false, '', r.client_record_id, %b
FROM unnest(
    %b::uuid[], %b::text[], %b::float8[], %b::float8[], %b::float8[], %b::text[], %b::float8[], %b::text[],
    %b::timestamptz[], %b::bool[], %b::text[], %b::text[], %b::text[], %b::uuid[]
) AS r(id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit, recorded_at,
       is_manual_entry, notes, metadata, quality, client_record_id)
ON CONFLICT DO NOTHING
RETURNING id
"""  # noqa: S608 - the table name is our model's, every value is a bound parameter


def readings_insert(objects: Sequence[HealthMetric]) -> set[uuid.UUID]:
    """Insert OBJECTS (manual readings of one person, ids set) in the caller's transaction, skipping those whose
    `client_record_id` the person already used; returns the ids of the rows inserted."""
    if not objects:
        return set()
    if connection.vendor == "postgresql":
        return _insert_unnest(objects)
    HealthMetric.objects.bulk_create(objects, batch_size=500, ignore_conflicts=True)
    ids = [o.id for o in objects]
    stored: set[uuid.UUID] = set()
    for i in range(0, len(ids), 500):
        stored.update(HealthMetric.objects.filter(pk__in=ids[i : i + 500]).values_list("id", flat=True))
    return stored


def _insert_unnest(objects: Sequence[HealthMetric]) -> set[uuid.UUID]:
    first = objects[0]
    params = [
        first.user_id,
        first.created_at,
        [o.id for o in objects],
        [o.metric_type for o in objects],
        [o.value for o in objects],
        [o.systolic_value for o in objects],
        [o.diastolic_value for o in objects],
        [o.unit for o in objects],
        [o.entered_value for o in objects],
        [o.entered_unit for o in objects],
        [o.recorded_at for o in objects],
        [o.is_manual_entry for o in objects],
        # Raw SQL bypasses the field's encryption: encrypt notes here as EncryptedTextField would.
        [encrypt(o.notes) if o.notes else "" for o in objects],
        [orjson.dumps(o.metadata).decode() if o.metadata else "{}" for o in objects],
        [o.quality for o in objects],
        [o.client_record_id for o in objects],
    ]
    connection.ensure_connection()
    # Django's cursors bind parameters client-side; binary parameters need psycopg's own cursor, on Django's
    # connection, so inside the caller's transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_INSERT_SQL, params)
        return {row[0] for row in cursor.fetchall()}
