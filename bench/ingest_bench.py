"""IoT ingestion against the raw limit of this machine: readings per second, and as a share of COPY.

Run (PostgreSQL, a database of its own that the bench creates and migrates; its tables are emptied each round):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_iot_bench .venv/bin/python bench/ingest_bench.py

Options: `--readings 100000` (total per round, in batches of `--batch 5000`), `--rounds 3`.

Each round, interleaved and on a table emptied before every path:
- COPY: `COPY health_metrics_healthmetric (…) FROM STDIN (FORMAT BINARY)` of the same rows the worker stores,
  already converted, in one stream and one transaction: the reference.
- HTTP accept: every batch POSTed to `/api/v1/devices/me/batches/` with a real device key through Django's
  test client, in process (routing, middleware, authentication, throttling, orjson parsing, the envelope check,
  the batch row, the on-commit enqueue to an in-memory broker); the median latency of a 5,000-reading batch.
- Worker: `ingestion.batch_process` on each of those batches, in process, one after the other, as one worker
  process runs them: claim, validation with `clean_reading` and `quality.assess`, the unnest insert and the
  progress per 500-reading chunk, and health_metrics' `metrics_changed` once per batch (its tasks are published
  to the in-memory broker, not run).
The figures printed are medians of the rounds. Absolute figures move from machine to machine; the ratio is the
point (PERFORMANCE.md): the goal is a worker rate of at least 0.40 of COPY.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import COPY_STATEMENT, COPY_TYPES, ensure_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jeghealth_backend.settings.base")
os.environ.setdefault("DEBUG", "false")  # no query log in memory
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.pop("REDIS_URL", None)  # tasks go to an in-memory broker: published, not run
os.environ.setdefault("THROTTLE_RATES", "device=100000/min")

METRICS = (("heart_rate", "bpm", 55, 40), ("steps", "steps", 0, 900), ("oxygen_saturation", "%", 94, 5))


def make_readings(total: int) -> list[dict]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)
    readings = []
    for i in range(total):
        metric_type, unit, base, spread = METRICS[i % len(METRICS)]
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
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL=postgres://… (see the docstring).")
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    import orjson
    import psycopg
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from health_metrics.validation import clean_reading
    from iot_devices import ingestion, services
    from jeghealth_backend.celery import app as celery_app

    call_command("migrate", verbosity=0)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://"

    from accounts.models import User

    email = "ingest-bench@example.org"
    user = User.objects.filter(email=email).first() or User.objects.create_user(email, password=uuid.uuid4().hex)
    services.IoTDevice.objects.filter(owner=user).delete()
    credentials = services.device_create(owner=user, name="bench watch", device_type="smartwatch", serial_number="B")
    device = services.device_verify(device=credentials.device, code=credentials.verification_code)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {credentials.api_key}")

    readings = make_readings(args.readings)
    batches = [readings[i : i + args.batch] for i in range(0, len(readings), args.batch)]
    now = timezone.now()
    clean = [clean_reading(r, now=now) for r in readings]
    copy_rows = [
        (
            uuid.uuid4(), user.id, c.metric_type, c.value, c.systolic_value, c.diastolic_value, c.unit,
            c.entered_value, c.entered_unit, c.recorded_at, "device", device.id, None, False, "", "{}", "ok",
            False, "", None, now,
        )
        for c in clean
    ]  # fmt: skip

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE health_metrics_healthmetric, health_metrics_pendingrollup, iot_devices_devicedatabatch"
            )

    def run_copy() -> float:
        reset()
        connection.ensure_connection()
        raw = connection.connection
        started = time.perf_counter()
        statement = COPY_STATEMENT
        with raw.transaction(), psycopg.Cursor(raw) as cursor, cursor.copy(statement) as copy:
            copy.set_types(COPY_TYPES)
            for row in copy_rows:
                copy.write_row(row)
        return time.perf_counter() - started

    def run_ingest() -> tuple[list[float], float]:
        reset()
        latencies, batch_pks = [], []
        for batch in batches:
            body = {"batch_id": str(uuid.uuid4()), "readings": batch}
            payload = orjson.dumps(body)
            started = time.perf_counter()
            response = client.post("/api/v1/devices/me/batches/", payload, content_type="application/json")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 202, response.content[:300]
            batch_pks.append(response.json()["id"])
        started = time.perf_counter()
        for batch_pk in batch_pks:
            assert ingestion.batch_process(batch_pk=batch_pk).outcome is ingestion.Outcome.DONE
        worker = time.perf_counter() - started
        stored = services.IoTDevice.objects.get(pk=device.pk).batches.filter(status="completed").count()
        assert stored == len(batches), "every batch should complete"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM health_metrics_healthmetric")
            assert cursor.fetchone()[0] == len(readings)
        return latencies, worker

    copy_times, worker_times, accept_medians, accept_totals = [], [], [], []
    for round_no in range(args.rounds):
        # Interleaved, and the first path alternates, so drift in the machine's state favours neither.
        order = ("copy", "ingest") if round_no % 2 == 0 else ("ingest", "copy")
        for path in order:
            if path == "copy":
                copy_times.append(run_copy())
            else:
                latencies, worker = run_ingest()
                worker_times.append(worker)
                full = [t for t, b in zip(latencies, batches, strict=True) if len(b) == args.batch]
                accept_medians.append(statistics.median(full))
                accept_totals.append(sum(latencies))
        print(
            f"round {round_no + 1}: copy {args.readings / copy_times[-1]:,.0f}/s, "
            f"worker {args.readings / worker_times[-1]:,.0f}/s, "
            f"accept median {accept_medians[-1] * 1000:.1f} ms per {args.batch}",
            flush=True,
        )
    reset()

    n = args.readings
    copy_rate = n / statistics.median(copy_times)
    worker_rate = n / statistics.median(worker_times)
    accept_rate = n / statistics.median(accept_totals)
    end_to_end = n / statistics.median([a + w for a, w in zip(accept_totals, worker_times, strict=True)])
    print()
    print(f"workload: {n:,} readings per round in {len(batches)} batches of {args.batch:,} (3 metric types), ")
    print(f"          one device, concurrency 1 (one worker process), {args.rounds} interleaved rounds, medians")
    print(
        f"PostgreSQL {connection.pg_version // 10000}, table reset between paths; HTTP in process (Django test client)"
    )
    lines = [
        ("COPY … FROM STDIN (FORMAT BINARY), reference", copy_rate),
        ("worker path (validation, chunked insert)", worker_rate),
        ("HTTP accept path", accept_rate),
        ("end to end (accept + worker, one process)", end_to_end),
    ]
    for label, rate in lines:
        print(f"{label:<45}: {rate:>10,.0f} readings/s   {rate / copy_rate:.2f} of COPY")
    median_ms = statistics.median(accept_medians) * 1000
    print(f"HTTP accept of one {args.batch:,}-reading batch, median: {median_ms:.1f} ms (goal < 300 ms)")
    ratio = worker_rate / copy_rate
    verdict = "meets the goal (>= 0.40)" if ratio >= 0.40 else ("below goal" if ratio >= 0.25 else "FAILS (< 0.25)")
    print(f"worker / COPY = {ratio:.2f}: {verdict}")


if __name__ == "__main__":
    main()
