"""Readings range-partitioned by month on `recorded_at` (PostgreSQL), and the offline-sync key in a table of its own.

A unique key of a partitioned table must hold the partition key, so (user, client_record_id) moves to
`ClientRecordKey` (on every database, so both behave alike), filled from the readings that carry one.

On PostgreSQL the readings table is then rebuilt as a partitioned table, whatever columns it has by now (other
migrations may add some): the old table is renamed, a new one made `LIKE` it (defaults, NOT NULL and check
constraints) and `PARTITION BY RANGE (recorded_at)`, with the partitions of the months present, MONTHS_AHEAD more
and a DEFAULT one; the rows are copied (`INSERT … SELECT *`), the old table dropped, and its indexes and unique
constraints created again from their own definitions. The primary key becomes (id, recorded_at): PostgreSQL needs
the partition key in it; Django keeps `id` as the model's primary key, still unique (a UUID made per reading).
Reversible: the reverse rebuilds a plain table the same way.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from health_metrics.partitions import (
    MONTHS_AHEAD,
    PARENT,
    default_partition_create,
    is_partitioned,
    month_partition_create,
    month_start,
    next_month,
)

OLD = f"{PARENT}_unpartitioned"


def keys_from_readings(apps, schema_editor):
    table = apps.get_model("health_metrics", "ClientRecordKey")._meta.db_table
    readings = apps.get_model("health_metrics", "HealthMetric")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, client_record_id, reading_id) "  # noqa: S608 - our own table names
            f"SELECT user_id, client_record_id, id FROM {readings} WHERE client_record_id IS NOT NULL"
        )


def _definitions(cursor, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The CREATE INDEX statements of TABLE's indexes that back no constraint, and its unique, exclusion and
    foreign-key constraints as (name, definition)."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        [table],
    )
    # A partitioned table's index is defined `ON ONLY` the parent; on a plain table the word does not exist.
    indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'x', 'f') ORDER BY conname",
        [table],
    )
    return indexes, cursor.fetchall()


def _rebuild(cursor, *, partitioned: bool) -> None:
    indexes, constraints = _definitions(cursor, PARENT)
    cursor.execute(f"ALTER TABLE {PARENT} RENAME TO {OLD}")
    layout = " PARTITION BY RANGE (recorded_at)" if partitioned else ""
    cursor.execute(f"CREATE TABLE {PARENT} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){layout}")
    if partitioned:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', recorded_at AT TIME ZONE 'UTC')::date FROM {OLD}"  # noqa: S608
        )
        months = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT (now() AT TIME ZONE 'UTC')::date")
        month = month_start(cursor.fetchone()[0])
        for _ in range(MONTHS_AHEAD + 1):
            months.add(month)
            month = next_month(month)
        for month in sorted(months):
            month_partition_create(cursor, month)
        default_partition_create(cursor)
    cursor.execute(f"INSERT INTO {PARENT} SELECT * FROM {OLD}")  # noqa: S608 - LIKE keeps the column order
    # Dropping a partitioned table drops its partitions with it.
    cursor.execute(f"DROP TABLE {OLD}")
    key = "id, recorded_at" if partitioned else "id"
    cursor.execute(f"ALTER TABLE {PARENT} ADD CONSTRAINT {PARENT}_pkey PRIMARY KEY ({key})")
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {PARENT} ADD CONSTRAINT {name} {definition}")
    for statement in indexes:
        cursor.execute(statement)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not is_partitioned(cursor):
            _rebuild(cursor, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if is_partitioned(cursor):
            _rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("health_metrics", "0010_reading_device_data_batch_id"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ClientRecordKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "user_id", "client_record_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("client_record_id", models.UUIDField()),
                ("reading_id", models.UUIDField()),
            ],
        ),
        migrations.RunPython(keys_from_readings, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="healthmetric", name="health_metric_user_client_record_unique"),
        migrations.RunPython(partition, unpartition),
    ]
