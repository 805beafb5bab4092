"""IoT ingestion against the raw limit of this machine: readings per second, and as a share of COPY.

Run (PostgreSQL, a database of its own that the bench creates and migrates; its tables are emptied each round):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_iot_bench .venv/bin/python bench/ingest_bench.py

Options: `--workload hypertensive|flat|both` (both), `--rounds 3`, `--batches` and `--batch` (the workload's).

Two workloads, each stored by every path below in one run:
- **hypertensive** (issue 16): a blood-pressure monitor's backlog of a person with stage-2 readings, systolic
  105-160 and diastolic 65-100 mmHg, one a minute, 30 batches of 5,000 recorded more than a day ago. Many readings
  cross the clinical thresholds: that is where per-reading side effects hide.
- **flat**: a smartwatch's heart rate, steps and SpO2 in the normal range, 20 batches of 5,000: nothing is
  flagged.

Paths, per round, interleaved, each on tables emptied before it:
- **COPY twin** (the reference): `COPY … FROM STDIN (FORMAT BINARY)` of the same, already converted rows into a
  twin of the readings table with the same indexes and no foreign keys: the machine's limit.
- **COPY real**: the same COPY into the real readings table, whose foreign keys are checked per row (the
  reference reported before, printed beside the new one).
- **HTTP accept**: every batch POSTed to `/api/v1/devices/me/batches/` with a real device key through Django's
  test client, in process; the median latency of one batch.
- **worker**: `ingestion.batch_process` on each batch, one after the other, as one worker process runs them, and
  everything each batch triggers, run in the same process as the worker would run those tasks: the anomaly
  detection of the batch (flags, the alert rules, the digest notification and its deliveries) and the rollup
  refresh.
Printed: medians of the rounds, each rate as a share of the twin's COPY, and the notifications, episodes and flags
the workload produced. Absolute figures move from machine to machine; the ratio is the point (PERFORMANCE.md).
Goals: worker including what it triggers >= 0.40 of COPY twin on the hypertensive backlog (issue 16), with at most
one digest per batch and no episode; HTTP accept of a 5,000-reading batch < 300 ms at the median.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import COPY_COLUMNS, COPY_STATEMENT, COPY_TYPES, ensure_database, source_columns

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jeghealth_backend.settings.base")
os.environ.setdefault("DEBUG", "false")  # no query log in memory
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.pop("REDIS_URL", None)  # accept: tasks go to an in-memory broker; the worker phase runs them in process
os.environ.setdefault("THROTTLE_RATES", "device=100000/min")
os.environ.setdefault("EMAIL_URL", "consolemail://")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TWIN = "bench_healthmetric_twin"
FLAT_METRICS = (("heart_rate", "bpm", 55, 40), ("steps", "steps", 0, 900), ("oxygen_saturation", "%", 95, 5))


@dataclass(frozen=True)
class Workload:
    name: str
    device_type: str
    batches: int
    batch: int
    describe: str

    @property
    def total(self) -> int:
        return self.batches * self.batch


def hypertensive_readings(total: int) -> list[dict]:
    """A stage-2 hypertensive person's blood pressure, one a minute, ending more than a day ago."""
    rng = random.Random(16)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2, minutes=total)
    readings = []
    for i in range(total):
        systolic = min(160, max(105, round(rng.gauss(134, 12))))
        diastolic = min(100, max(65, round(rng.gauss(84, 8))))
        readings.append(
            {
                "metric_type": "blood_pressure",
                "systolic_value": systolic,
                "diastolic_value": diastolic,
                "unit": "mmHg",
                "recorded_at": (start + timedelta(minutes=i)).isoformat(),
            }
        )
    return readings


def flat_readings(total: int) -> list[dict]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)
    readings = []
    for i in range(total):
        metric_type, unit, base, spread = FLAT_METRICS[i % len(FLAT_METRICS)]
        readings.append(
            {
                "metric_type": metric_type,
                "value": base + (i * 7) % spread,
                "unit": unit,
                "recorded_at": (start + timedelta(seconds=20 * i)).isoformat(),
            }
        )
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["hypertensive", "flat", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, help="batches per round (30 hypertensive, 20 flat)")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=1, help="worker processes sharing the batches (1 or 2)")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL=postgres://… (see the docstring).")
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    workloads = []
    if args.workload in ("hypertensive", "both"):
        workloads.append(
            Workload(
                "hypertensive",
                "blood_pressure_monitor",
                args.batches or 30,
                args.batch,
                "blood pressure of a stage-2 hypertensive person, recorded over a day ago",
            )
        )
    if args.workload in ("flat", "both"):
        workloads.append(
            Workload(
                "flat",
                "smartwatch",
                args.batches or 20,
                args.batch,
                "heart rate, steps and SpO2 in the normal range (nothing flagged)",
            )
        )
    results = [run_workload(w, args.rounds, args.processes) for w in workloads]
    print()
    for result in results:
        print(result)


def run_workload(workload: Workload, rounds: int, processes: int = 1) -> str:
    import orjson
    import psycopg
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from alerts.models import AlertEpisode
    from health_metrics.models import HealthMetric
    from health_metrics.validation import clean_reading
    from iot_devices import services
    from jeghealth_backend.celery import app as celery_app
    from notifications.models import Notification

    email = f"ingest-bench-{workload.name}@example.org"
    user = User.objects.filter(email=email).first() or User.objects.create_user(email, password=uuid.uuid4().hex)
    services.IoTDevice.objects.filter(owner=user).delete()
    credentials = services.device_create(
        owner=user, name=f"bench {workload.device_type}", device_type=workload.device_type, serial_number="B"
    )
    device = services.device_verify(device=credentials.device, code=credentials.verification_code)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {credentials.api_key}")

    make = hypertensive_readings if workload.name == "hypertensive" else flat_readings
    readings = make(workload.total)
    batches = [readings[i : i + workload.batch] for i in range(0, len(readings), workload.batch)]
    now = timezone.now()
    clean = [clean_reading(r, now=now) for r in readings]
    copy_rows = [
        (
            uuid.uuid4(),
            user.id,
            c.metric_type,
            c.value,
            c.systolic_value,
            c.diastolic_value,
            c.unit,
            c.entered_value,
            c.entered_unit,
            c.recorded_at,
            "device",
            device.id,
            None,
            False,
            "",
            "{}",
            "ok",
            False,
            "",
            None,
            now,
            *source_columns(device.name),
        )
        for c in clean
    ]
    with connection.cursor() as cursor:
        # The twin: the same columns, checks and indexes (the unique key included), and no foreign keys.
        cursor.execute(f"DROP TABLE IF EXISTS {TWIN}")
        cursor.execute(f"CREATE TABLE {TWIN} (LIKE health_metrics_healthmetric INCLUDING ALL)")

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE health_metrics_healthmetric, health_metrics_pendingrollup, "
                "health_metrics_pendinganomalycheck, health_metrics_healthmetricsummary, iot_devices_devicedatabatch, "
                f"{TWIN}"
            )
        AlertEpisode.objects.filter(user=user).delete()
        Notification.objects.filter(recipient=user).delete()
        from alerts.models import MetricCursor

        MetricCursor.objects.filter(user=user).delete()

    def run_copy(table: str) -> float:
        reset()
        connection.ensure_connection()
        raw = connection.connection
        statement = COPY_STATEMENT if table == "real" else f"COPY {TWIN} ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        started = time.perf_counter()
        with raw.transaction(), psycopg.Cursor(raw) as cursor, cursor.copy(statement) as copy:
            copy.set_types(COPY_TYPES)
            for row in copy_rows:
                copy.write_row(row)
        return time.perf_counter() - started

    def run_ingest() -> tuple[list[float], float, dict]:
        reset()
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = "memory://"
        latencies, batch_pks = [], []
        for batch in batches:
            payload = orjson.dumps({"batch_id": str(uuid.uuid4()), "readings": batch})
            started = time.perf_counter()
            response = client.post("/api/v1/devices/me/batches/", payload, content_type="application/json")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 202, response.content[:300]
            batch_pks.append(response.json()["id"])
        # The worker runs what each batch triggers (detection, alert rules, rollups) as the tasks it enqueues;
        # their own time is summed apart so the ingest path alone can be printed too (issue 20, point 5).
        celery_app.conf.task_always_eager = True
        triggered.clear()
        started = time.perf_counter()
        if processes == 1:
            _process_batches(batch_pks)
        else:
            triggered.append(_process_in_parallel(batch_pks, processes))
        worker = time.perf_counter() - started
        celery_app.conf.task_always_eager = False
        assert services.IoTDevice.objects.get(pk=device.pk).batches.filter(status="completed").count() == len(batches)
        assert HealthMetric.objects.filter(user=user).count() == len(readings)
        produced = {
            "notifications": Notification.objects.filter(recipient=user).count(),
            "digests": Notification.objects.filter(recipient=user, data__kind="digest").count(),
            "episodes": AlertEpisode.objects.filter(user=user).count(),
            "flagged": HealthMetric.objects.filter(user=user, is_anomaly=True).count(),
        }
        return latencies, worker, sum(triggered), produced

    triggered = _time_triggered_tasks()
    twin, real, worker, alone, accept_medians, accept_totals = [], [], [], [], [], []
    produced: dict = {}
    paths = ["twin", "real", "ingest"]
    for round_no in range(rounds):
        # Interleaved, the order rotating, so drift in the machine's state favours no path.
        for path in paths[round_no % 3 :] + paths[: round_no % 3]:
            if path == "twin":
                twin.append(run_copy("twin"))
            elif path == "real":
                real.append(run_copy("real"))
            else:
                latencies, seconds, tasks_seconds, produced = run_ingest()
                worker.append(seconds)
                alone.append(seconds - tasks_seconds)
                accept_medians.append(statistics.median(latencies))
                accept_totals.append(sum(latencies))
        print(
            f"{workload.name} round {round_no + 1}: COPY twin {workload.total / twin[-1]:,.0f}/s, "
            f"COPY real {workload.total / real[-1]:,.0f}/s, worker {workload.total / worker[-1]:,.0f}/s "
            f"(ingest alone {workload.total / alone[-1]:,.0f}/s), "
            f"accept median {accept_medians[-1] * 1000:.1f} ms",
            flush=True,
        )
    reset()

    n = workload.total
    twin_rate = n / statistics.median(twin)
    rows = [
        ("COPY into the no-foreign-key twin (reference)", twin_rate),
        ("COPY into the real table (old reference)", n / statistics.median(real)),
        ("worker, with all it triggers", n / statistics.median(worker)),
        ("worker, the ingest path alone (no triggered task)", n / statistics.median(alone)),
        ("HTTP accept", n / statistics.median(accept_totals)),
        (
            "end to end (accept + worker, one process)",
            n / statistics.median([a + w for a, w in zip(accept_totals, worker, strict=True)]),
        ),
    ]
    ratio = rows[2][1] / twin_rate
    lines = [
        f"== {workload.name}: {n:,} readings in {workload.batches} batches of {workload.batch:,}: {workload.describe}",
        f"   one device, {processes} worker process(es), {rounds} interleaved rounds, medians; PostgreSQL "
        f"{connection.pg_version // 10000}, HTTP in process (Django test client)",
    ]
    lines += [f"   {label:<48}: {rate:>9,.0f} readings/s  {rate / twin_rate:.2f} of COPY twin" for label, rate in rows]
    lines.append(
        f"   HTTP accept of one {workload.batch:,}-reading batch, median: "
        f"{statistics.median(accept_medians) * 1000:.1f} ms (goal < 300 ms)"
    )
    lines.append(
        f"   produced: {produced['flagged']:,} readings flagged, {produced['episodes']} alert episodes, "
        f"{produced['notifications']} notifications ({produced['digests']} digests; at most {workload.batches})"
    )
    verdict = "meets the goal (>= 0.40)" if ratio >= 0.40 else "below the goal of 0.40"
    lines.append(f"   worker with all it triggers / COPY twin = {ratio:.2f}: {verdict}")
    alone_ratio = rows[3][1] / twin_rate
    verdict = "meets the goal (>= 0.60)" if alone_ratio >= 0.60 else "below the goal of 0.60"
    lines.append(f"   worker, ingest path alone / COPY twin = {alone_ratio:.2f}: {verdict} (issue 20, point 5)")
    return "\n".join(lines)


_TRIGGERED_SECONDS: list[float] = []


def _process_batches(batch_pks: list) -> float:
    """Process BATCH_PKS one after the other, as one worker process does; the seconds its triggered tasks took."""
    from iot_devices import ingestion

    _TRIGGERED_SECONDS.clear()
    for batch_pk in batch_pks:
        assert ingestion.batch_process(batch_pk=batch_pk).outcome is ingestion.Outcome.FINALISED
    return sum(_TRIGGERED_SECONDS)


def _process_in_parallel(batch_pks: list, processes: int) -> float:
    """The batches shared by PROCESSES forked worker processes (every one takes every n-th, as a queue would hand
    them out); returns the triggered tasks' seconds per process, on average, so that the wall time minus it is the
    ingest path's share."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # each child opens its own connection
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        seconds = pool.map(_process_batches, [batch_pks[i::processes] for i in range(processes)])
    return sum(seconds) / processes


def _time_triggered_tasks() -> list[float]:
    """Wrap the services the triggered tasks run (detection with the alert rules, the rollup refresh) so that
    their time is added to the list returned: what is left of the worker's time is the ingest path alone."""
    from health_metrics import tasks

    seconds = _TRIGGERED_SECONDS

    def timed(function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds.append(time.perf_counter() - started)

        return run

    if not getattr(tasks, "_bench_timed", False):
        tasks.anomaly_check_run = timed(tasks.anomaly_check_run)
        tasks.rollups_refresh_pending = timed(tasks.rollups_refresh_pending)
        tasks._bench_timed = True
    return seconds


if __name__ == "__main__":
    main()
