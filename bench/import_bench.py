"""Apple Health import against COPY, the import worker's peak memory, and the summary with source arbitration.

Run (PostgreSQL, a database of its own that the bench creates and migrates):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_import_bench nice .venv/bin/python bench/import_bench.py

Options: `--records 1000000` (the export's size), `--summary-days 365`, `--rounds 3`.

1. **Import.** A generated `export.xml` of N records in the Health app's format (a watch's heart rate each
   minute, its step counts every 10 minutes, a scale's weight each morning, a cuff's blood pressure, sleep) is
   imported by `health_metrics.imports.run.import_run` in a child process, exactly what the worker task runs
   (both passes: the whole-file check and the chunked store). Printed: records per second, and the child's peak
   memory (ru_maxrss).
   Reference, side by side: `COPY … FROM STDIN (FORMAT BINARY)` of the very rows the import stored into a twin
   of the readings table (`LIKE … INCLUDING ALL`: the same indexes and checks, and no foreign keys).
   Goal: import >= 0.25 of COPY; peak memory < 300 MB whatever N.
2. **Summary.** A person with two step sources (a watch and a phone, 10-minute samples that overlap) over a
   year: `summary_buckets` daily over the year aggregated from readings (no rollups), with arbitration and with
   it switched off (the query as it was before sources), medians of the rounds; and the `summary/` answer as
   served, from rollups. Goal: with arbitration within 1.5x of without.
The machine is shared: figures move with its load, the ratios are the point (PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jeghealth_backend.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.pop("REDIS_URL", None)  # tasks the import enqueues go to an in-memory broker and are not run
os.environ.setdefault("LOG_LEVEL", "WARNING")

TWIN = "bench_import_twin"
WATCH, PHONE = "Ada's Apple Watch", "Ada's iPhone"


def _apple(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S -0500")


def write_export(path: Path, records: int, end: datetime) -> None:
    """An export.xml of about RECORDS records ending before END (the Health app's shape), streamed to PATH."""
    rng = random.Random(18)
    local = end.astimezone(UTC) - timedelta(hours=5)
    start = local - timedelta(minutes=records)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n')
        out.write(f' <ExportDate value="{_apple(local)}"/>\n <Me/>\n')
        written = 0
        minute = 0
        while written < records:
            at = start + timedelta(minutes=minute)
            stamp = _apple(at)
            out.write(
                f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{WATCH}" unit="count/min" '
                f'creationDate="{stamp}" startDate="{stamp}" endDate="{stamp}" value="{rng.randint(55, 95)}">'
                '<MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/></Record>\n'
            )
            written += 1
            if minute % 10 == 0:
                stop = _apple(at + timedelta(minutes=10))
                out.write(
                    f' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="{WATCH}" unit="count" '
                    f'creationDate="{stop}" startDate="{stamp}" endDate="{stop}" value="{rng.randint(0, 900)}"/>\n'
                )
                written += 1
            if minute % 1440 == 420:
                out.write(
                    f' <Record type="HKQuantityTypeIdentifierBodyMass" sourceName="Withings" unit="lb" '
                    f'creationDate="{stamp}" startDate="{stamp}" endDate="{stamp}" '
                    f'value="{round(rng.uniform(150, 156), 1)}"/>\n'
                    f' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" '
                    f'creationDate="{stamp}" startDate="{stamp}" endDate="{stamp}">\n'
                    f'  <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="Omron" unit="mmHg" '
                    f'startDate="{stamp}" endDate="{stamp}" value="{rng.randint(115, 135)}"/>\n'
                    f'  <Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" sourceName="Omron" '
                    f'unit="mmHg" startDate="{stamp}" endDate="{stamp}" value="{rng.randint(70, 85)}"/>\n'
                    " </Correlation>\n"
                )
                written += 2
            if minute % 1440 == 0:
                night = at - timedelta(hours=7)
                out.write(
                    f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{WATCH}" '
                    f'creationDate="{_apple(at)}" startDate="{_apple(night)}" endDate="{_apple(at)}" '
                    'value="HKCategoryValueSleepAnalysisAsleepCore"/>\n'
                )
                written += 1
            minute += 1
        out.write("</HealthData>\n")


def child(job_id: str) -> None:
    """The worker's part, in its own process: one import, as the task runs it."""
    import django

    django.setup()
    from health_metrics.imports.run import import_run
    from jeghealth_backend.celery import app

    # The tasks an import enqueues (rollup refresh, anomaly detection) run on other workers: enqueued here only.
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    import_run(job_id=job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--summary-days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL=postgres://… (see the docstring).")
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    lines = [import_figures(args.records), summary_figures(args.summary_days, args.rounds)]
    print()
    print("\n".join(lines))


def _person(email: str):
    from accounts.models import User, UserProfile

    User.objects.filter(email=email).delete()
    user = User.objects.create_user(email=email, username=email.split("@")[0], password="bench-password-1")  # noqa: S106 - a bench person
    UserProfile.objects.filter(user=user).update(timezone="America/New_York")
    return User.objects.select_related("profile").get(pk=user.pk)


def import_figures(records: int) -> str:
    from django.core.files import File
    from django.db import connection

    from health_metrics.imports.run import import_create
    from health_metrics.models import HealthMetric, ImportJob
    from jeghealth_backend.celery import app

    # The upload's own task is only enqueued here (an in-memory broker): the child process runs the import.
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    user = _person("import-bench@example.org")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xml"
        write_export(path, records, datetime.now(UTC) - timedelta(days=1))
        size = path.stat().st_size
        with path.open("rb") as handle:
            job = import_create(user=user, format="apple_health", upload=File(handle, name="export.xml"))
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", str(job.pk)], check=True, cwd=ROOT)
    import_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    job = ImportJob.objects.get(pk=job.pk)
    stored = HealthMetric.objects.filter(user=user).count()
    assert job.status == "completed", job.error
    assert job.attempts == 1, "the import ran before the timed child did"

    table = HealthMetric._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TWIN}")
        cursor.execute(f"CREATE TABLE {TWIN} (LIKE {table} INCLUDING ALL)")
    raw = connection.connection
    buffer = bytearray()
    export_rows = f"COPY (SELECT * FROM {table} WHERE user_id = %s) TO STDOUT (FORMAT BINARY)"  # noqa: S608
    with raw.cursor().copy(export_rows, [user.pk]) as copy:
        for block in copy:
            buffer += block
    started = time.perf_counter()
    with raw.cursor().copy(f"COPY {TWIN} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(bytes(buffer))
    raw.commit()
    copy_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TWIN}")

    import_rate, copy_rate = stored / import_seconds, stored / copy_seconds
    ratio = import_rate / copy_rate
    return "\n".join(
        [
            f"Apple Health import: {records:,} records, {size / 2**20:,.0f} MiB of export.xml -> {stored:,} readings"
            f" (created {job.created_count:,}, duplicates {job.duplicate_count:,}, refused {job.skipped_count:,})",
            f"   COPY of those rows into the twin (reference): {copy_rate:>9,.0f} rows/s ({copy_seconds:.1f} s)",
            f"   import worker, whole-file check + store     : {import_rate:>9,.0f} rows/s ({import_seconds:.1f} s)",
            f"   import / COPY = {ratio:.2f}: {'meets' if ratio >= 0.25 else 'misses'} the goal (>= 0.25)",
            f"   worker peak memory {peak_mb:,.0f} MB: {'meets' if peak_mb < 300 else 'misses'} the goal (< 300 MB)",
        ]
    )


def summary_figures(days: int, rounds: int) -> str:
    from django.db import connection

    from health_metrics import arbitration, summaries
    from health_metrics.models import HealthMetric
    from health_metrics.periods import local_today
    from health_metrics.selectors import summary_get
    from health_metrics.summaries import rollups_rebuild, summary_buckets
    from jeghealth_backend.person_cache import person_data_changed

    user = _person("arbitration-bench@example.org")
    tz = user.profile.tzinfo
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    rng = random.Random(7)
    rows = []
    for source, shift in ((WATCH, 0), (PHONE, 3)):
        for i in range(days * 144):
            at = end - timedelta(minutes=10 * i + shift)
            rows.append(
                HealthMetric(
                    user=user,
                    metric_type="steps",
                    value=float(rng.randint(0, 900)),
                    unit="steps",
                    entered_value=None,
                    entered_unit="steps",
                    recorded_at=at,
                    ended_at=at + timedelta(minutes=10),
                    source="import",
                    source_name=source,
                    is_manual_entry=False,
                )
            )
    HealthMetric.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE health_metrics_healthmetric")
    rollups_rebuild(user_id=user.pk)
    today = local_today(tz, datetime.now(UTC))
    first = today - timedelta(days=days - 1)

    def direct() -> float:
        started = time.perf_counter()
        summary_buckets(
            user_id=user.pk, metric_type="steps", period="daily", tz=tz, start_date=first, end_date=today,
            use_rollups=False,
        )  # fmt: skip
        return time.perf_counter() - started

    def served() -> float:
        person_data_changed(user.pk)  # not the cached answer: computed from rollups
        started = time.perf_counter()
        summary_get(user=user, metric_type="steps", period="daily", start_date=first, end_date=today)
        return time.perf_counter() - started

    real_counted = arbitration.counted
    with_arbitration, without, served_with, served_without = [], [], [], []
    for _ in range(rounds):
        summaries.counted = real_counted
        with_arbitration.append(direct())
        served_with.append(served())
        summaries.counted = lambda readings, **_: readings  # the summary as it was before sources
        without.append(direct())
        served_without.append(served())
    summaries.counted = real_counted
    a, b = statistics.median(with_arbitration) * 1000, statistics.median(without) * 1000
    c, d = statistics.median(served_with) * 1000, statistics.median(served_without) * 1000
    return "\n".join(
        [
            f"Summary, daily over {days} days, two overlapping step sources ({len(rows):,} readings):",
            f"   from readings, without arbitration (reference): {b:8.1f} ms",
            f"   from readings, with arbitration               : {a:8.1f} ms  ({a / b:.2f}x)",
            f"   summary/ as served (rollups), without / with  : {d:8.1f} / {c:.1f} ms  ({c / d:.2f}x)",
            f"   goal: within 1.5x: {'meets' if a / b <= 1.5 else 'misses'} (from readings), "
            f"{'meets' if c / d <= 1.5 else 'misses'} (as served)",
        ]
    )


if __name__ == "__main__":
    main()
