"""Monthly range partitions of the readings table on PostgreSQL (declarative partitioning on `recorded_at`).

The parent keeps the model's table name, so the ORM and every raw insert (storage.py, COPY in the benches) name
the parent and PostgreSQL routes each row to its month; a row outside every month partition lands in the DEFAULT
partition. Partitions are UTC calendar months, named `<table>_pYYYY_MM`. The migration
(0006_partitioned_readings) builds the months present and MONTHS_AHEAD more; the beat task
`health_metrics.ensure_partitions` keeps MONTHS_AHEAD months ahead of today, idempotently, and gives every month
found in the DEFAULT partition (an imported history, a backlog) its own partition, moving its rows there.

Why: a person's reads filter on `recorded_at`, so the planner prunes to the months asked for, and old months can be
detached or moved to cheaper storage whole. SQLite (development, tests without DATABASE_URL) keeps the plain table.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from django.db import connection, transaction

from .models import HealthMetric

logger = logging.getLogger(__name__)

PARENT = HealthMetric._meta.db_table
DEFAULT_PARTITION = f"{PARENT}_default"
MONTHS_AHEAD = 3
_LOCK_KEY = "health-metrics-partitions"


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_p{month:%Y_%m}"


def _bounds(month: date) -> tuple[str, str]:
    lower = datetime(month.year, month.month, 1, tzinfo=UTC)
    upper_month = next_month(month)
    upper = datetime(upper_month.year, upper_month.month, 1, tzinfo=UTC)
    return lower.isoformat(), upper.isoformat()


def is_partitioned(cursor) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [PARENT])
    return cursor.fetchone()[0]


def month_partition_create(cursor, month: date) -> bool:
    """Create the partition of MONTH unless it exists; returns whether it was created. Rows of that month already
    in the DEFAULT partition (PostgreSQL refuses a new partition while the default holds rows of its range) are
    moved into it first, in the caller's transaction."""
    name = partition_name(month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    lower, upper = _bounds(month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
    has_default = cursor.fetchone()[0]
    stray = False
    if has_default:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE recorded_at >= %s AND recorded_at < %s)",  # noqa: S608
            [lower, upper],
        )
        stray = cursor.fetchone()[0]
    bounds = f"FOR VALUES FROM ('{lower}') TO ('{upper}')"  # bounds are our own ISO timestamps
    if not stray:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} {bounds}")
        return True
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE recorded_at >= %s AND recorded_at < %s RETURNING *) "  # noqa: S608
        f"INSERT INTO {name} SELECT * FROM moved",
        [lower, upper],
    )
    # ATTACH builds the parent's indexes on it and checks the rows fit the bounds.
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {bounds}")
    return True


def default_partition_create(cursor) -> None:
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {DEFAULT_PARTITION} PARTITION OF {PARENT} DEFAULT")


def partitions_ensure(*, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make sure the partitions of the current UTC month and MONTHS_AHEAD more exist; returns those created.
    Idempotent, and safe from two runs at once (an advisory lock). Nothing on SQLite or an unpartitioned table."""
    if connection.vendor != "postgresql":
        return []
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_LOCK_KEY])
        if not is_partitioned(cursor):
            return []
        month = month_start(now)
        for _ in range(months_ahead + 1):
            if month_partition_create(cursor, month):
                created.append(partition_name(month))
            month = next_month(month)
        # Months that have no partition yet and whose rows landed in the default one (an imported history, a
        # device's backlog of a month before the table was partitioned): each gets its partition, rows moved.
        for month in _months_in_default(cursor):
            if month_partition_create(cursor, month):
                created.append(partition_name(month))
    if created:
        logger.info("health_metrics_partitions_created", extra={"partitions": created})
    return created


def _months_in_default(cursor) -> list[date]:
    """The UTC months of the rows in the DEFAULT partition: a scan of a table the daily run keeps empty."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
    if not cursor.fetchone()[0]:
        return []
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', recorded_at AT TIME ZONE 'UTC')::date FROM {DEFAULT_PARTITION} "  # noqa: S608
        "ORDER BY 1"
    )
    return [row[0] for row in cursor.fetchall()]


def partition_of(reading_id) -> str | None:
    """The partition holding one reading (for tests and the admin's curiosity); None when it does not exist."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {PARENT} WHERE id = %s", [reading_id])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None
