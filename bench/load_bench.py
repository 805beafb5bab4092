"""Load: the service as deployed (gunicorn, PostgreSQL, Redis, a Celery worker) under a mix of people and devices.

Run (PostgreSQL and Redis on 127.0.0.1; the bench creates and migrates a database of its own and uses a Redis
database of its own, which it empties first; it never stops or restarts either server):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_load_bench .venv/bin/python bench/load_bench.py

Options: `--duration 30` (seconds of load), `--people 6` (threads reading as app users), `--devices 3` (threads
posting batches, one device each), `--batch 200` (readings per batch), `--port 8741`; the broker and cache are
`BENCH_REDIS_URL` (default redis://127.0.0.1:6379/7).

What runs: gunicorn on 127.0.0.1 with gunicorn.conf.py and 2 sync workers (DEBUG off, persistent database
connections, the cache on Redis), and one Celery worker (prefork, 1 process) on the `default` and `ingest`
queues. Setup, through the API: 12 people register and each enters 300 readings (`bulk/`); each device thread's
person pairs a smartwatch. Then, for `--duration` seconds, closed loops with no think time, over urllib (a new
connection per request, as a phone or a device makes them):
- people: `GET /api/v1/health-metrics/?limit=20` (3 of 4 requests) and `GET /api/v1/dashboard/` (1 of 4),
  each thread as one of the 12 people in turn;
- devices: `POST /api/v1/devices/me/batches/` of `--batch` heart-rate readings at times no other batch uses.
It prints the workload, requests/s per kind and in all, p50 and p99 latency per kind, and the error count (any
answer but the expected 200/202, or no answer: it must be 0). Then it waits for the worker to finish every
accepted batch and checks that each accepted reading is stored exactly once (the batch `completed` with all its
readings accepted, one row per reading, no batch_id stored twice), printing the time the worker needed after
the load stopped. It exits non-zero when there were errors or a reading is missing or stored twice.

One gunicorn sync worker serves one request at a time and the machine has 2 cores shared by the web workers,
the Celery worker, PostgreSQL and the load threads: the figures are those of this whole stack on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
# The bench's keys in that database: a prefix of this run for cache and broker, deleted at the end (never FLUSHDB).
RUN_PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
PEOPLE = 12
HISTORY = 300
# With --beat, the alerts' periodic task runs this often: its ticks are counted across the workers.
BEAT_PROBE_SECONDS = 2
PASSWORD = "Load-bench-passphrase-7"  # noqa: S105 - the bench's throwaway accounts


def server_env(**extra: str) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": RUN_PREFIX,
        "CELERY_BROKER_KEY_PREFIX": f"{RUN_PREFIX}-broker-",
        "THROTTLE_RATES": "auth=100000/min,anon=100000/min,user=10000000/hour,device=100000/min",
        "ACCESS_TOKEN_LIFETIME_MINUTES": "120",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
        **extra,
    }


class Stack:
    """WEB gunicorn instances on consecutive ports from PORT, WORKERS Celery worker processes, and with BEAT one beat,
    all against one PostgreSQL and one Redis."""

    def __init__(self, port: int, logs: Path, *, web: int = 1, workers: int = 1, beat: bool = False):
        self.bases = [f"http://127.0.0.1:{port + i}" for i in range(web)]
        self.base = self.bases[0]
        self.logs = logs
        self.processes: list[subprocess.Popen] = []
        self.port, self.web, self.workers, self.beat = port, web, workers, beat

    def spawn(self, args: list[str], log: str, **env: str) -> None:
        with (self.logs / log).open("wb") as out:
            self.processes.append(
                subprocess.Popen(args, cwd=ROOT, env=server_env(**env), stdout=out, stderr=subprocess.STDOUT)
            )

    def start(self) -> None:
        for i in range(self.web):
            self.spawn(
                [str(VENV_BIN / "gunicorn"), "jeghealth_backend.wsgi:application", "-c", "gunicorn.conf.py",
                 "--bind", f"127.0.0.1:{self.port + i}"],
                f"web{i}.log" if self.web > 1 else "web.log",
                WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "2"),
                GUNICORN_MAX_REQUESTS="0",
            )  # fmt: skip
        # With beat, the workers also serve the queue of the alerts' periodic task, whose deliveries are counted.
        queues = "default,ingest,notifications" if self.beat else "default,ingest"
        for i in range(self.workers):
            self.spawn(
                [str(VENV_BIN / "celery"), "-A", "jeghealth_backend", "worker", "-Q", queues, "-n", f"load{i}@%h",
                 "--pool=prefork", "-c", "1", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
                f"worker{i}.log" if self.workers > 1 else "worker.log",
                LOG_LEVEL="INFO",  # the receipts of tasks, counted by beat_problems
            )  # fmt: skip
        if self.beat:
            self.spawn(
                [str(VENV_BIN / "celery"), "-A", "jeghealth_backend", "beat", "--loglevel=INFO",
                 "-s", str(self.logs / "celerybeat")],
                "beat.log",
                ALERT_DUE_INTERVAL_SECONDS=str(BEAT_PROBE_SECONDS),
                LOG_LEVEL="INFO",
            )  # fmt: skip
        deadline = time.monotonic() + 60
        waiting = list(self.bases)
        while waiting and time.monotonic() < deadline:
            try:
                if request(waiting[0], "GET", "/api/v1/health/")[0] == 200:
                    waiting.pop(0)
                    continue
            except OSError:
                pass
            time.sleep(0.2)
        if waiting:
            self.stop()
            sys.exit(f"gunicorn did not start; see {self.logs}")

    def beat_problems(self) -> list[str]:
        """Periodic work not doubled: every tick beat sent of the probe task (`alerts.run_due`, every
        BEAT_PROBE_SECONDS) was received by exactly one of the workers. Stops beat first, then lets the workers take
        what it sent last."""
        beat = self.processes.pop()  # started last
        beat.terminate()
        beat.wait(timeout=30)
        time.sleep(BEAT_PROBE_SECONDS + 1)
        sent = (self.logs / "beat.log").read_text(errors="replace").count("Sending due task alerts-run-due")
        received: list[str] = []
        for log in sorted(self.logs.glob("worker*.log")):
            received += re.findall(r"Task alerts\.run_due\[([0-9a-f-]+)\] received", log.read_text(errors="replace"))
        problems = []
        if len(received) != len(set(received)):
            problems.append(f"a periodic task was received twice: {len(received)} receipts of {len(set(received))}")
        if sent < 2 or len(set(received)) != sent:
            problems.append(f"beat sent {sent} ticks of alerts.run_due, the workers received {len(set(received))}")
        return problems

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def request(base: str, method: str, path: str, body: dict | None = None, auth: str = "", timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310 - our loopback server
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def register(base: str, n: int) -> str:
    email = f"load-{uuid.uuid4().hex[:10]}@example.org"
    status, body = request(
        base,
        "POST",
        "/api/v1/auth/register/",
        {"email": email, "username": f"load{n}-{uuid.uuid4().hex[:6]}", "first_name": "Load", "last_name": str(n),
         "password": PASSWORD, "password_confirm": PASSWORD},
    )  # fmt: skip
    assert status == 201, body
    return f"Bearer {body['tokens']['access']}"


def history(count: int, start: datetime) -> list[dict]:
    kinds = (("heart_rate", 62, 30), ("weight", 80, 2), ("steps", 900, 4000), ("blood_sugar", 95, 20))
    readings = []
    for i in range(count):
        metric_type, base, spread = kinds[i % len(kinds)]
        readings.append(
            {"metric_type": metric_type, "value": base + (i * 7) % spread,
             "recorded_at": (start + timedelta(minutes=37 * i)).isoformat()}
        )  # fmt: skip
    return readings


def pair(base: str, bearer: str) -> str:
    status, device = request(
        base, "POST", "/api/v1/devices/",
        {"name": "Watch", "device_type": "smartwatch", "serial_number": uuid.uuid4().hex[:12]}, auth=bearer,
    )  # fmt: skip
    assert status == 201, device
    key = f"Api-Key {device['api_key']}"
    status, body = request(base, "POST", "/api/v1/devices/me/verify/", {"verification_code":
                           device["verification_code"]}, auth=key)  # fmt: skip
    assert status == 200, body
    return key


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.accepted: dict[str, tuple[str, int]] = {}
        self.lock = threading.Lock()

    def timed(self, kind: str, expected: tuple[int, ...], call) -> object:
        started = time.perf_counter()
        try:
            status, body = call()
        except OSError as exc:
            status, body = 0, type(exc).__name__
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[kind].append(elapsed)
            if status not in expected:
                self.errors[kind].append(f"{status} {str(body)[:200]}")
                return None
        return body


def person_loop(bases: list[str], bearers: list[str], offset: int, until: float, rec: Recorder) -> None:
    i = offset
    while time.monotonic() < until:
        bearer = bearers[i % len(bearers)]
        base = bases[i % len(bases)]  # spread over the web instances, as a load balancer would
        if i % 4 == 3:
            rec.timed("dashboard", (200,), lambda b=bearer, u=base: request(u, "GET", "/api/v1/dashboard/", auth=b))
        else:
            path = "/api/v1/health-metrics/?limit=20"
            rec.timed("metrics list", (200,), lambda b=bearer, p=path, u=base: request(u, "GET", p, auth=b))
        i += 1


def device_loop(bases: list[str], key: str, size: int, day0: datetime, until: float, rec: Recorder) -> None:
    n = 0
    while time.monotonic() < until:
        base = bases[n % len(bases)]
        batch_id = str(uuid.uuid4())
        start = day0 + timedelta(hours=n)
        readings = [
            {"metric_type": "heart_rate", "value": 55 + i % 50, "unit": "bpm",
             "recorded_at": (start + timedelta(seconds=10 * i)).isoformat()}
            for i in range(size)
        ]  # fmt: skip
        body = {"batch_id": batch_id, "readings": readings}
        answer = rec.timed(
            "device batch",
            (202,),
            lambda b=body, u=base: request(u, "POST", "/api/v1/devices/me/batches/", b, auth=key),
        )
        if answer is not None:
            with rec.lock:
                rec.accepted[batch_id] = (answer["id"], size)
        n += 1


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def verify(dsn: dict, rec: Recorder, timeout: float) -> tuple[float, list[str]]:
    """Waits for the worker to finish the accepted batches; (seconds it took, problems found)."""
    import psycopg

    ids = [server_id for server_id, _ in rec.accepted.values()]
    problems: list[str] = []
    started = time.monotonic()
    with psycopg.connect(
        host=dsn["HOST"] or "127.0.0.1", port=dsn["PORT"] or 5432, user=dsn["USER"],
        password=dsn["PASSWORD"] or None, dbname=dsn["NAME"], autocommit=True,
    ) as conn:  # fmt: skip
        while time.monotonic() - started < timeout:
            done = conn.execute(
                "SELECT count(*) FROM iot_devices_devicedatabatch WHERE id = ANY(%s::uuid[]) AND status = 'completed'",
                [ids],
            ).fetchone()[0]
            if done == len(ids):
                break
            time.sleep(0.5)
        else:
            problems.append(f"only {done} of {len(ids)} batches completed after {timeout:.0f} s")
        drained = time.monotonic() - started
        rows = conn.execute(
            "SELECT b.id::text, b.accepted_count, b.rejected_count, count(m.id), "
            "count(DISTINCT (m.metric_type, m.recorded_at)) FROM iot_devices_devicedatabatch b "
            "LEFT JOIN health_metrics_healthmetric m ON m.device_data_batch_id = b.id "
            "WHERE b.id = ANY(%s::uuid[]) GROUP BY b.id",
            [ids],
        ).fetchall()
        sizes = {server_id: size for server_id, size in rec.accepted.values()}
        for server_id, accepted, rejected, stored, distinct in rows:
            if (accepted, rejected, stored, distinct) != (sizes[server_id], 0, sizes[server_id], sizes[server_id]):
                problems.append(f"batch {server_id}: accepted {accepted}, rejected {rejected}, stored {stored}")
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT device_id, device_batch_id FROM iot_devices_devicedatabatch "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()[0]
        if twice:
            problems.append(f"{twice} batch_id(s) stored as more than one batch")
        if len(rows) != len(ids):
            problems.append(f"{len(ids) - len(rows)} accepted batch(es) not found")
    return drained, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--port", type=int, default=8741)
    parser.add_argument("--web", type=int, default=1, help="gunicorn instances, on consecutive ports")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--beat", action="store_true", help="run one beat and check no periodic task is doubled")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL=postgres://… (a database of the bench's own)")

    import redis

    dsn = ensure_database(os.environ["DATABASE_URL"])
    migrate = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=server_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if migrate.returncode:
        sys.exit(migrate.stderr[-3000:])
    store = redis.Redis.from_url(REDIS_URL)
    logs = ROOT / "var" / "load_bench"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(args.port, logs, web=args.web, workers=args.workers, beat=args.beat)
    stack.start()
    try:
        base = stack.base
        bearers = [register(base, n) for n in range(PEOPLE)]
        day0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
        for bearer in bearers:
            status, body = request(base, "POST", "/api/v1/health-metrics/bulk/", {"metrics": history(HISTORY, day0)},
                                   auth=bearer)  # fmt: skip
            assert status == 201, body
        keys = [pair(base, bearers[n % PEOPLE]) for n in range(args.devices)]
        # Device readings start a year back, a day apart per device thread, so no two batches share a time.
        rec = Recorder()
        until = time.monotonic() + args.duration
        threads = [
            threading.Thread(target=person_loop, args=(stack.bases, bearers, n, until, rec)) for n in range(args.people)
        ] + [
            threading.Thread(
                target=device_loop,
                args=(stack.bases, key, args.batch, day0 - timedelta(days=365 + 60 * n), until, rec),
            )
            for n, key in enumerate(keys)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        drained, problems = verify(dsn, rec, timeout=max(120, args.duration * 4))
        if args.beat:
            problems += stack.beat_problems()
    finally:
        stack.stop()
        for key in store.scan_iter(match=f"{RUN_PREFIX}*", count=1000):
            store.unlink(key)

    total = sum(len(v) for v in rec.latencies.values())
    errors = sum(len(v) for v in rec.errors.values())
    readings = sum(size for _, size in rec.accepted.values())
    print(
        f"workload: {elapsed:.1f} s, {args.people} people threads (metrics list 3:1 dashboard, {PEOPLE} people with "
        f"{HISTORY} readings each), {args.devices} device threads (batches of {args.batch}); {args.web} gunicorn "
        f"instance(s) of {os.environ.get('WEB_CONCURRENCY', '2')} sync workers, {args.workers} Celery worker "
        f"process(es), {'one beat, ' if args.beat else ''}PostgreSQL, Redis, all on this machine"
    )
    print(f"{'kind':<14}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind in ("metrics list", "dashboard", "device batch"):
        samples = rec.latencies.get(kind, [])
        if samples:
            print(
                f"{kind:<14}{len(samples):>10}{len(samples) / elapsed:>9.1f}{statistics.median(samples):>9.1f}"
                f"{percentile(samples, 0.99):>9.1f}{len(rec.errors.get(kind, [])):>8}"
            )
    print(f"{'all':<14}{total:>10}{total / elapsed:>9.1f}{'':>18}{errors:>8}")
    print(
        f"accepted: {len(rec.accepted)} batches, {readings} readings ({readings / elapsed:.0f} readings/s); "
        f"the worker finished them {drained:.1f} s after the load stopped"
    )
    for kind, samples in rec.errors.items():
        print(f"errors of {kind}: {samples[:3]}")
    print("stored exactly once" + (", periodic work not doubled" if args.beat else "") + ": "
          + ("yes" if not problems else "NO"))  # fmt: skip
    for problem in problems[:10]:
        print("  " + problem)
    if errors or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
