"""Reads as the table grows: the reading list and a person-year summary at 1M, 10M (and 100M) readings.

Run (PostgreSQL; one database per size, created, migrated and loaded once, kept for later runs):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_scale_bench nice -n 19 .venv/bin/python bench/scale_bench.py \\
        --rows 1000000 --rows 10000000

Each `--rows N` is a database `<name>_<N>` loaded with `COPY … FROM STDIN (FORMAT BINARY)`: one dense person, a
device writing heart rate every minute for a year (525,600 readings, API.md's fleet case), and the rest spread over
2,000 others across two years, so the monthly partitions fill as a real table's would; then `ANALYZE` and the dense
person's rollups. Disk: about 0.4 GB per million readings with the indexes, so **100M needs about 40 GB** (check
`df -h` first; the bench refuses when the free space is short); loading 100M took 17 minutes on 2 cores (the data's
months partitioned first, COPY without the indexes, then the indexes built and the table vacuumed).

One gunicorn (one sync worker, the cache off, bench/metrics_settings.py) per size; rounds (3) interleave the sizes,
each request as the dense person with a real JWT: `GET /api/v1/health-metrics/?limit=20` (30 requests) and
`GET /api/v1/health-metrics/summary/?metric_type=heart_rate&period=daily` over the last 365 days (20 requests).
It prints the medians at each size and their ratio to the smallest size (goal: at most 1.5x from 1M to 100M; the
person-year summary under 50 ms at the largest size). Options: `--rounds 3`, `--port 8741`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import COPY_STATEMENT, COPY_TYPES, ensure_database, source_columns

ROOT = Path(__file__).resolve().parent.parent
DENSE_MINUTES = 365 * 24 * 60
OTHER_PEOPLE = 2000
BYTES_PER_ROW = 400  # measured with the indexes: 4.0 GB for 10 million readings
CHUNK = 200_000


def size_url(base: str, rows: int) -> str:
    return f"{base}_{rows}"


def build(rows: int, reload: bool = False) -> dict:
    """In this process (DATABASE_URL names the size's database): migrate, load ROWS readings once, answer the
    dense person's token and the dates of the summary."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.services import tokens_for_user
    from health_metrics.models import HealthMetric
    from health_metrics.partitions import month_partition_create, month_start, next_month
    from health_metrics.summaries import rollups_rebuild

    call_command("migrate", verbosity=0)
    end = datetime(2026, 12, 1, tzinfo=UTC)

    def person(name: str) -> User:
        email = f"{name}@bench.example"
        return User.objects.filter(email=email).first() or User.objects.create_user(email, password=None)

    dense = person("scale-dense")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM health_metrics_healthmetric WHERE user_id = %s", [dense.pk])
        loaded = cursor.fetchone()[0] == DENSE_MINUTES
    if reload or not loaded or HealthMetric.objects.count() != rows:
        others = [person(f"scale-other-{i}").pk for i in range(OTHER_PEOPLE)]
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE health_metrics_healthmetric, health_metrics_healthmetricsummary")
        connection.ensure_connection()
        pg = connection.connection
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # The months of the data get their partitions first, as a table in service has them (the daily
            # health_metrics.ensure_partitions gives a past month found in the default partition its own).
            month = month_start(end - timedelta(days=730))
            while month <= month_start(end):
                month_partition_create(cursor, month)
                month = next_month(month)
            restore = _drop_indexes(cursor)
        rng = random.Random(rows)
        start = end - timedelta(days=365)
        dense_rows = (
            _row(dense.pk, "heart_rate", start + timedelta(minutes=i), float(55 + i % 40)) for i in range(DENSE_MINUTES)
        )
        _copy(pg, dense_rows)
        span = 730 * 24 * 3600
        other_rows = (
            _row(others[i % OTHER_PEOPLE], "heart_rate", end - timedelta(seconds=rng.random() * span), 70.0)
            for i in range(rows - DENSE_MINUTES)
        )
        _copy(pg, other_rows, report=rows)
        pg.commit()
        loaded_at = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
        pg.commit()
        seconds = time.perf_counter() - started
        print(
            f"  {rows:,} rows loaded with COPY in {loaded_at - started:.0f} s, indexes built in "
            f"{time.perf_counter() - loaded_at:.0f} s ({rows / seconds:,.0f} rows/s in all)",
            flush=True,
        )
        with connection.cursor() as cursor:
            # What autovacuum does to a table in service: statistics, and the visibility map that lets the list's
            # bounded count read the index alone.
            cursor.execute("VACUUM (ANALYZE) health_metrics_healthmetric")
        rollups_rebuild(user_id=dense.pk)
    today = (end - timedelta(minutes=1)).date()
    return {"token": tokens_for_user(dense)["access"], "start": str(today - timedelta(days=364)), "end": str(today)}


def _drop_indexes(cursor) -> list[str]:
    """Drop the readings table's indexes and key constraints (on the partitioned parent, so on every partition);
    answer the statements that build them again. Every size is loaded this way: COPY into a table with no index,
    then one sort per index, is how a bulk load is done, and keeps a 100M load within the hour."""
    table = "health_metrics_healthmetric"
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN "
        "('p', 'u')",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    # `ON ONLY` (how pg_indexes shows a partitioned index) would build the parent's alone.
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints] + [
        definition.replace(" ON ONLY ", " ON ", 1) for _, definition in indexes
    ]


def _row(user_id, metric_type: str, moment: datetime, value: float) -> tuple:
    return (
        uuid.uuid4(), user_id, metric_type, value, None, None, "bpm", value, "bpm",
        moment, "device", None, None, False, "", {}, "ok", False, "", None, moment, *source_columns("watch"),
    )  # fmt: skip


def _copy(pg, rows, report: int = 0) -> None:
    done = 0
    with pg.cursor() as cursor, cursor.copy(COPY_STATEMENT) as copy:
        copy.set_types(COPY_TYPES)
        for values in rows:
            copy.write_row(values)
            done += 1
            if report and done % 2_000_000 == 0:
                print(f"    … {done:,}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="a table size; repeat for several")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8741)
    parser.add_argument("--reload", action="store_true", help="load every size again")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)  # one size, in a child process
    args = parser.parse_args()
    if args.build:
        print("RESULT " + json.dumps(build(args.rows[0], reload=args.reload)), flush=True)
        return
    sizes = sorted(args.rows or [1_000_000, 10_000_000])
    base = os.environ["DATABASE_URL"]
    need = max(sizes) * BYTES_PER_ROW
    free = shutil.disk_usage("/var/lib/postgresql" if Path("/var/lib/postgresql").exists() else "/").free
    if need > free:
        sys.exit(f"{max(sizes):,} readings need about {need / 1e9:.0f} GB; {free / 1e9:.0f} GB are free")

    sys.path.insert(0, str(ROOT / "bench"))
    import metrics_bench  # its server settings (cache off, one worker) and its gunicorn runner

    info, servers = {}, {}
    for rows in sizes:
        url = size_url(base, rows)
        ensure_database(url)
        print(f"size {rows:,}: {url} …", flush=True)
        child = subprocess.run(
            [sys.executable, __file__, "--build", "--rows", str(rows), *(["--reload"] if args.reload else [])],
            env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        print("".join(line + "\n" for line in child.stdout.splitlines() if not line.startswith("RESULT")), end="")
        if child.returncode:
            sys.exit(child.stderr[-3000:])
        info[rows] = json.loads(child.stdout.split("RESULT ", 1)[1])
    try:
        for i, rows in enumerate(sizes):
            os.environ["DATABASE_URL"] = size_url(base, rows)
            servers[rows] = metrics_bench.Server(args.port + i)
        results: dict[tuple[int, str], list[float]] = {}
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds} …", flush=True)
            for rows in sizes:
                token, server = info[rows]["token"], servers[rows]
                summary = (
                    "/api/v1/health-metrics/summary/?metric_type=heart_rate&period=daily"
                    f"&start_date={info[rows]['start']}&end_date={info[rows]['end']}"
                )
                for name, path, times in (("list", "/api/v1/health-metrics/?limit=20", 30), ("summary", summary, 20)):
                    results.setdefault((rows, name), []).append(
                        statistics.median(server.timed("GET", path, token, times))
                    )
    finally:
        os.environ["DATABASE_URL"] = base
        for server in servers.values():
            server.stop()

    ms = {key: statistics.median(values) * 1000 for key, values in results.items()}
    smallest, largest = sizes[0], sizes[-1]
    print()
    print(f"scale bench: PostgreSQL, readings partitioned by month, one dense person ({DENSE_MINUTES:,} heart-rate "
          f"readings: a year at one a minute) and {OTHER_PEOPLE:,} others; gunicorn 1 sync worker, cache off, "
          f"medians of {args.rounds} interleaved rounds; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print()
    print(f"{'readings':>14}  {'list limit=20':>14}  {'ratio':>6}  {'summary 365 d':>14}  {'ratio':>6}")
    for rows in sizes:
        list_ms, summary_ms = ms[(rows, "list")], ms[(rows, "summary")]
        print(f"{rows:>14,}  {list_ms:11.2f} ms  {list_ms / ms[(smallest, 'list')]:6.2f}"
              f"  {summary_ms:11.2f} ms  {summary_ms / ms[(smallest, 'summary')]:6.2f}")  # fmt: skip
    print()
    print(f"goal: at most 1.5x from {smallest:,} to {largest:,} "
          f"(list {ms[(largest, 'list')] / ms[(smallest, 'list')]:.2f}x, "
          f"summary {ms[(largest, 'summary')] / ms[(smallest, 'summary')]:.2f}x); "
          f"person-year summary under 50 ms at {largest:,}: {ms[(largest, 'summary')]:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
