"""Health metrics through real HTTP: manual bulk entry, the reading list at 1M rows, the summary with and
without rollups.

Run (PostgreSQL, a database of its own that the bench creates and migrates; Redis for the server's broker):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_hm_bench .venv/bin/python bench/metrics_bench.py

Options: `--rounds 3`, `--port 8731`, `--reload` (load the 1M rows again even if they are there). The broker
is `BENCH_REDIS_URL` (default redis://127.0.0.1:6379/6); no worker runs, and the bench empties its queue.

Setup, once (kept between runs): 1,000,000 readings loaded with `COPY … FROM STDIN (FORMAT BINARY)`
(psycopg 3): one dense person with a year of readings (heart rate every 10 minutes, steps hourly, blood
pressure twice and weight once a day: 62,415 rows) and 300 others sharing the rest; then `ANALYZE` and the
dense person's rollups. The server is gunicorn with one sync worker (gunicorn.conf.py, WEB_CONCURRENCY=1),
DEBUG off, persistent database connections, the cache switched off so every answer is computed, tasks
published to Redis (not run). Requests are made one at a time with a real JWT.

Each round (3, interleaved, medians printed), with the tables the round writes reset before each request:
- bulk: `POST /bulk/` of 1,000 manual readings (600 heart rate, 200 blood pressure, 100 steps, 100 weight)
  for a person with no readings, 5 requests; reference: COPY of the same 1,000 converted rows; and the
  after-commit work a worker then does for them (rollup refresh, anomaly detection), run in this process;
- list: `GET /?limit=20` and `?limit=200` as the dense person, 30 requests each; reference: the bare view of
  bench/metrics_urls.py running the same indexed query (count + page) without DRF;
- summary: `GET /summary/?metric_type=heart_rate&period=daily` over 365 days for the dense person (52,560
  readings), 20 requests with rollups, 20 without (a pending refresh over the year makes the endpoint
  aggregate the readings in SQL, as it does while rollups are not yet current).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import COPY_STATEMENT, COPY_TYPES, ensure_database, source_columns

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.metrics_settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
    "THROTTLE_RATES": "user=1000000/min",
    "ACCESS_TOKEN_LIFETIME_MINUTES": "240",
    "LOG_LEVEL": "WARNING",
    "WEB_CONCURRENCY": "1",
    "GUNICORN_LOG_LEVEL": "warning",
    "GUNICORN_MAX_REQUESTS": "0",
}
os.environ.update({k: v for k, v in SERVER_ENV.items()})

TOTAL_ROWS = 1_000_000
OTHER_PEOPLE = 300
UNITS = {"heart_rate": "bpm", "steps": "steps", "weight": "kg", "blood_pressure": "mmHg", "blood_sugar": "mg/dL"}


def row(user_id, metric_type, moment, value=None, systolic=None, diastolic=None, now=None):
    unit = UNITS[metric_type]
    return (
        uuid.uuid4(), user_id, metric_type, value, systolic, diastolic, unit, value, unit,
        moment, "device", None, None, False, "", {}, "ok", False, "", None, now or moment, *source_columns("bench"),
    )  # fmt: skip


def dense_rows(user_id, end: datetime):
    start = end - timedelta(days=365)
    rng = random.Random(1)
    for i in range(365 * 144):  # every 10 minutes
        yield row(user_id, "heart_rate", start + timedelta(minutes=10 * i), value=float(rng.randint(55, 95)))
    for i in range(365 * 24):
        yield row(user_id, "steps", start + timedelta(hours=i), value=float(rng.randint(0, 1500)))
    for day in range(365):
        midnight = start + timedelta(days=day)
        for hour in (7, 19):
            diastolic = rng.randint(70, 90)
            yield row(user_id, "blood_pressure", midnight + timedelta(hours=hour),
                      systolic=float(diastolic + rng.randint(30, 50)), diastolic=float(diastolic))  # fmt: skip
        yield row(user_id, "weight", midnight + timedelta(hours=7, minutes=5), value=round(rng.uniform(70, 74), 1))


def other_rows(user_ids, count: int, end: datetime):
    rng = random.Random(2)
    types = ("heart_rate", "steps", "blood_sugar", "weight")
    ranges = {"heart_rate": (55, 95), "steps": (0, 1500), "blood_sugar": (80, 160), "weight": (55, 95)}
    for i in range(count):
        metric_type = types[i % len(types)]
        low, high = ranges[metric_type]
        # Seconds apart per person, so no two rows share a time.
        moment = end - timedelta(seconds=37 * (i // len(user_ids)) + i % len(user_ids))
        yield row(user_ids[i % len(user_ids)], metric_type, moment, value=float(rng.randint(low, high)))


def copy_rows(connection, rows) -> float:
    started = time.perf_counter()
    statement = COPY_STATEMENT
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(COPY_TYPES)
        for values in rows:
            copy.write_row(values)
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Server:
    """gunicorn serving the project (bench settings) on 127.0.0.1:PORT, one sync worker."""

    def __init__(self, port: int):
        self.port = port
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "jeghealth_backend.wsgi:application", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                self.request("GET", "/api/v1/health/")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit("gunicorn did not start")

    def request(self, method: str, path: str, token: str | None = None, body: bytes | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        connection.close()
        return response.status, payload, elapsed

    def timed(self, method: str, path: str, token: str | None, times: int, body: bytes | None = None, status=200):
        samples = []
        for _ in range(times):
            code, payload, elapsed = self.request(method, path, token, body)
            if code != status:
                raise SystemExit(f"{method} {path} answered {code}: {payload[:300]!r}")
            samples.append(elapsed)
        return samples

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.services import tokens_for_user
    from health_metrics.anomalies import anomalies_detect
    from health_metrics.models import HealthMetric, PendingRollup
    from health_metrics.summaries import rollups_rebuild, rollups_refresh_pending

    call_command("migrate", verbosity=0)
    # The detection run below flags readings; its per-reading log lines are not the bench's output.
    logging.getLogger("health_metrics").setLevel(logging.ERROR)
    broker = redis.Redis.from_url(SERVER_ENV["REDIS_URL"])
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)

    def person(name: str) -> User:
        email = f"{name}@bench.example"
        return User.objects.filter(email=email).first() or User.objects.create_user(email, password=None)

    dense = person("bench-dense")
    bulk_person = person("bench-bulk")
    others = [person(f"bench-other-{i}") for i in range(OTHER_PEOPLE)]
    pg = connection.connection if connection.connection else (connection.ensure_connection() or connection.connection)

    dense_count = HealthMetric.objects.filter(user=dense).count()
    if args.reload or HealthMetric.objects.count() != TOTAL_ROWS or not dense_count:
        print("loading 1,000,000 readings with COPY (once; kept for later runs) …", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE health_metrics_healthmetric, health_metrics_healthmetricsummary, "
                           "health_metrics_pendingrollup")  # fmt: skip
        dense_batch = list(dense_rows(dense.pk, end))
        seconds = copy_rows(pg, dense_batch)
        seconds += copy_rows(pg, other_rows([u.pk for u in others], TOTAL_ROWS - len(dense_batch), end))
        pg.commit()
        print(f"  COPY of {TOTAL_ROWS:,} rows: {seconds:.1f} s ({TOTAL_ROWS / seconds:,.0f} rows/s)", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE health_metrics_healthmetric")
        dense_count = len(dense_batch)
    PendingRollup.objects.filter(user__in=[dense, bulk_person]).delete()
    started = time.perf_counter()
    rollups_rebuild(user_id=dense.pk)
    rebuild = time.perf_counter() - started
    heart_rate_rows = HealthMetric.objects.filter(user=dense, metric_type="heart_rate").count()

    bulk_body = bulk_payload(end)
    bulk_copy_rows = [converted_row(bulk_person.pk, item) for item in json.loads(bulk_body)["metrics"]]
    dense_token = tokens_for_user(dense)["access"]
    bulk_token = tokens_for_user(bulk_person)["access"]
    today = end.date()
    summary_path = (
        "/api/v1/health-metrics/summary/?metric_type=heart_rate&period=daily"
        f"&start_date={today - timedelta(days=364)}&end_date={today}"
    )

    def reset_bulk_person() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM health_metrics_healthmetric WHERE user_id = %s", [bulk_person.pk])
            cursor.execute("DELETE FROM health_metrics_pendingrollup WHERE user_id = %s", [bulk_person.pk])
            cursor.execute("DELETE FROM health_metrics_healthmetricsummary WHERE user_id = %s", [bulk_person.pk])
        broker.delete("default")

    results: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    server = Server(args.port)
    try:
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds} …", flush=True)
            # Bulk entry: each request on an empty person, then the reference COPY of the same rows.
            samples = []
            for _ in range(5):
                reset_bulk_person()
                samples += server.timed("POST", "/api/v1/health-metrics/bulk/", bulk_token, 1, bulk_body, status=201)
            keep("bulk", statistics.median(samples))
            pending = list(PendingRollup.objects.filter(user=bulk_person))
            ids = list(HealthMetric.objects.filter(user=bulk_person).values_list("id", flat=True))
            started = time.perf_counter()
            rollups_refresh_pending(pending=pending)
            keep("after_rollups", time.perf_counter() - started)
            started = time.perf_counter()
            anomalies_detect(user_id=bulk_person.pk, metric_ids=ids)
            keep("after_anomalies", time.perf_counter() - started)
            reset_bulk_person()
            keep("bulk_copy", copy_rows(pg, bulk_copy_rows))
            pg.commit()
            reset_bulk_person()

            # The list at 1M rows, and the bare view running the same query.
            for limit in (20, 200):
                path = f"/api/v1/health-metrics/?limit={limit}"
                keep(f"list_{limit}", median_ms(server.timed("GET", path, dense_token, 30)) / 1000)
                bare = f"/bench/bare-list/?user={dense.pk}&limit={limit}"
                keep(f"bare_{limit}", median_ms(server.timed("GET", bare, None, 30)) / 1000)

            # The summary over a year: rollups, then the fallback aggregation in SQL.
            keep("summary_rollups", median_ms(server.timed("GET", summary_path, dense_token, 20)) / 1000)
            mark = PendingRollup.objects.create(
                user=dense, metric_type="heart_rate", start=end - timedelta(days=366), end=end
            )
            keep("summary_direct", median_ms(server.timed("GET", summary_path, dense_token, 20)) / 1000)
            mark.delete()
    finally:
        server.stop()
        reset_bulk_person()

    m = {name: statistics.median(values) for name, values in results.items()}
    ms = {name: value * 1000 for name, value in m.items()}
    print()
    print(f"health metrics bench: PostgreSQL, {TOTAL_ROWS:,} readings in the table, gunicorn 1 sync worker, "
          f"requests one at a time, medians of {args.rounds} interleaved rounds")  # fmt: skip
    print()
    print("manual bulk entry, POST /bulk/ of 1,000 readings (600 heart rate, 200 BP, 100 steps, 100 weight)")
    print(f"  HTTP answer (validation, quality checks, insert, on-commit enqueue)  {ms['bulk']:8.1f} ms"
          f"   {1000 / m['bulk']:9,.0f} readings/s")  # fmt: skip
    print(f"  reference: COPY of the same 1,000 rows                             {ms['bulk_copy']:8.1f} ms"
          f"   {1000 / m['bulk_copy']:9,.0f} readings/s")  # fmt: skip
    print(f"  ratio HTTP / COPY (rate)                                            {m['bulk_copy'] / m['bulk']:8.2f}")
    print(f"  then on a worker: rollup refresh {ms['after_rollups']:.1f} ms, anomaly detection "
          f"{ms['after_anomalies']:.1f} ms")  # fmt: skip
    print()
    print(f"reading list at 1M rows, one person's page (the dense person: {dense_count:,} readings)")
    for limit in (20, 200):
        print(f"  GET /?limit={limit:<3}  DRF {ms[f'list_{limit}']:7.2f} ms   bare view {ms[f'bare_{limit}']:7.2f} ms"
              f"   DRF rate / bare rate {m[f'bare_{limit}'] / m[f'list_{limit}']:.2f}")  # fmt: skip
    print()
    print(f"summary, daily over 365 days of {heart_rate_rows:,} heart-rate readings (1M rows in the table)")
    print(f"  with rollups (365 rollup rows)                {ms['summary_rollups']:8.2f} ms")
    print(f"  without rollups (GROUP BY over the readings)  {ms['summary_direct']:8.2f} ms")
    print(f"  ratio                                         {m['summary_direct'] / m['summary_rollups']:8.1f}x")
    print(f"  (rebuilding that person's rollups of a year, 4 types: {rebuild * 1000:.0f} ms)")


def bulk_payload(end: datetime) -> bytes:
    rng = random.Random(3)
    items = []
    for i in range(1000):
        moment = (end - timedelta(minutes=1000 - i)).isoformat()
        if i % 10 < 6:
            items.append({"metric_type": "heart_rate", "value": rng.randint(55, 95), "recorded_at": moment})
        elif i % 10 < 8:
            diastolic = rng.randint(70, 90)
            items.append({"metric_type": "blood_pressure", "systolic_value": diastolic + 40,
                          "diastolic_value": diastolic, "unit": "mmHg", "recorded_at": moment})  # fmt: skip
        elif i % 10 == 8:
            items.append({"metric_type": "steps", "value": rng.randint(0, 1500), "recorded_at": moment})
        else:
            items.append({"metric_type": "weight", "value": round(160 + rng.random(), 1), "unit": "lb",
                          "recorded_at": moment, "client_record_id": str(uuid.uuid4())})  # fmt: skip
    return json.dumps({"metrics": items}).encode()


def converted_row(user_id, item: dict):
    from health_metrics.validation import clean_reading

    clean = clean_reading(item, now=datetime.now(UTC))
    return (
        uuid.uuid4(), user_id, clean.metric_type, clean.value, clean.systolic_value, clean.diastolic_value,
        clean.unit, clean.entered_value, clean.entered_unit, clean.recorded_at, "manual", None, None, True,
        clean.notes, clean.metadata, "ok", False, "", None, datetime.now(UTC), *source_columns("manual"),
    )  # fmt: skip


if __name__ == "__main__":
    main()
