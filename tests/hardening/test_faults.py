"""Nothing accepted is lost or stored twice when Redis or PostgreSQL restarts, a worker is SIGKILLed, or two
connections post the same batch at once — with real processes on this machine (SECURITY-CHECKLIST section 8).

The module starts its own throwaway stack and never touches the machine's shared PostgreSQL or Redis:
a PostgreSQL cluster made with `initdb` in a temporary folder, a `redis-server` without persistence, both on free
ports, the web process (gunicorn, 2 workers, `gunicorn.conf.py`) and Celery workers as subprocesses pointed at them
(`DATABASE_URL`, `REDIS_URL`, the base settings). It talks to the web process over HTTP like a device: a person
registers and pairs a device through the API, and the device posts batches, retrying a batch (same `batch_id`)
until it gets a 2xx. A batch is *accepted* once answered 202 or 200; each accepted reading must then be stored
exactly once. Beat's outbox sweeper (`iot_devices.requeue_stale_batches`, every minute in production) is sent
every two seconds while a test waits, with a lease of 3 s, so that recovery happens within seconds.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from jeghealth_backend.celery import app as celery_app
from tests.notifications.fakes import FakeSMTP, ThreadingTCPServer, smtp_handler

BASE_DIR = Path(settings.BASE_DIR)
VENV_BIN = BASE_DIR / ".venv" / "bin"


def slow_chunks(chunk_delay: float) -> list[str]:
    """The command that starts a worker: celery itself, or with CHUNK_DELAY seconds held inside every chunk's
    transaction (tests/slow_chunk_worker.py) so that a kill lands mid-chunk."""
    if not chunk_delay:
        return [str(VENV_BIN / "celery")]
    return [str(VENV_BIN / "python"), str(BASE_DIR / "tests" / "slow_chunk_worker.py"), str(chunk_delay)]


PG_BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)
REDIS_SERVER = shutil.which("redis-server")
LEASE_SECONDS = 3
BATCH_SIZE = 200

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    # The test settings run tasks eagerly in this process; Beat publishes to the stack's broker on purpose.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not settings.REDIS_URL,
        reason="fault tests run with the PostgreSQL + Redis suite (set DATABASE_URL and REDIS_URL, as CI does); "
        "they start throwaway instances of their own",
    ),
    pytest.mark.skipif(
        PG_BIN is None or REDIS_SERVER is None,
        reason="needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) and redis-server",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, *, timeout: float, message, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message() if callable(message) else message)


def tail(path: Path, size: int = 3000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


class Process:
    """A subprocess in its own process group (so that it and its children are signalled together), logging to
    a file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, args: list[str], *, log: Path, env: dict | None = None, user: str | None = None):
        self.log = log
        prefix = ["runuser", "-u", user, "--"] if user else []
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                prefix + args, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)


class Redis:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Process([*args, "--dir", str(self.folder)], log=self.folder / "redis.log")
        wait_until(self.ping, timeout=10, message=lambda: f"redis did not start:\n{tail(self.process.log)}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


class Postgres:
    """A cluster of its own in FOLDER, run as the `postgres` OS user when this process is root."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.data = folder / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/jeg_faults"
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=jeg_faults connect_timeout=2"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, cwd=self.folder)
        assert done.returncode == 0, f"{args[0]}: {done.stdout[-1500:]}{done.stderr[-1500:]}"

    def init(self) -> None:
        if self.user:
            shutil.chown(self.folder, self.user)
        self._run(f"{PG_BIN}/initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()
        self._run(f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "jeg_faults")

    def start(self) -> None:
        # Durability is not under test here (the process restarts cleanly); fsync off makes migrating fast.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "pg.log"), "-w",
                  "start")  # fmt: skip

    def restart(self) -> None:
        self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.start()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError, AssertionError):
            self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def query(self, sql: str, *params):
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


class Stack:
    """PostgreSQL, Redis and the web process of this module, and the Celery workers of the running test."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.pg = Postgres(folder / "pg")
        self.redis = Redis(folder / "redis")
        self.web_port = free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.web: Process | None = None
        self.workers: list[Process] = []
        # Account mail goes to a local SMTP server, so a test can see what the web process and the workers sent.
        self.smtp = FakeSMTP()
        self.smtp_server = ThreadingTCPServer(("127.0.0.1", 0), smtp_handler(self.smtp))
        threading.Thread(target=self.smtp_server.serve_forever, daemon=True).start()

    def env(self, **extra: str) -> dict:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis.url,
            "DEBUG": "1",
            "THROTTLE_RATES": "auth=1000/min,anon=100000/min,user=100000/min,device=100000/min",
            "IOT_BATCH_LEASE_SECONDS": str(LEASE_SECONDS),
            "CELERY_VISIBILITY_TIMEOUT": "30",
            "CELERY_TASK_SOFT_TIME_LIMIT": "20",
            "CELERY_TASK_TIME_LIMIT": "25",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_server.server_address[1]}",
            "LOG_LEVEL": "WARNING",
            **extra,
        }

    def start(self) -> None:
        self.folder.chmod(0o755)  # the postgres user goes through it to its own folder
        for sub in (self.pg.folder, self.redis.folder):
            sub.mkdir(parents=True)
        self.pg.init()
        self.redis.start()
        migrate = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput"],
            cwd=BASE_DIR,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
        self.web = Process(
            [str(VENV_BIN / "gunicorn"), "jeghealth_backend.wsgi:application", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{self.web_port}"],
            log=self.folder / "web.log",
            env=self.env(WEB_CONCURRENCY="2", GUNICORN_LOG_LEVEL="warning"),
        )  # fmt: skip
        wait_until(self.healthy, timeout=30, message=lambda: f"gunicorn did not start:\n{tail(self.web.log)}")

    def stop(self) -> None:
        for process in [*self.workers, self.web]:
            if process is not None:
                process.stop()
        self.redis.stop()
        self.pg.stop()
        self.smtp_server.shutdown()

    def worker(self, *, chunk_delay: float = 0.0, chunk_size: int = 1000) -> Process:
        log = self.folder / f"worker-{len(self.workers)}.log"
        process = Process(
            [*slow_chunks(chunk_delay), "-A", "jeghealth_backend", "worker", "-Q", "default,ingest",
             "--pool=prefork", "-c", "1", "-n", f"faults-{uuid.uuid4().hex[:8]}@%h", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            log=log,
            env=self.env(IOT_INGEST_CHUNK_SIZE=str(chunk_size), LOG_LEVEL="INFO"),
        )  # fmt: skip
        self.workers.append(process)
        wait_until(lambda: "ready." in tail(log, 100_000), timeout=30, message=lambda: f"worker:\n{tail(log)}")
        return process

    # --- HTTP, as the app and the device firmware do it -----------------------------------------------------
    def request(self, method: str, path: str, body: dict | None = None, *, auth: str = "", timeout: float = 10):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310 - our own loopback server
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/api/v1/health/", timeout=2)[0] == 200
        except OSError:
            return False

    def pair_device(self) -> str:
        """A person registers and pairs a smartwatch through the API; answers the device's key."""
        email = f"faults-{uuid.uuid4().hex[:10]}@example.org"
        status, body = self.request(
            "POST",
            "/api/v1/auth/register/",
            {"email": email, "username": email.split("@")[0], "first_name": "F", "last_name": "T",
             "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"},
        )  # fmt: skip
        assert status == 201, body
        bearer = f"Bearer {body['tokens']['access']}"
        status, device = self.request(
            "POST", "/api/v1/devices/", {"name": "Watch", "device_type": "smartwatch",
                                          "serial_number": uuid.uuid4().hex[:12]}, auth=bearer
        )  # fmt: skip
        assert status == 201, device
        key = f"Api-Key {device['api_key']}"
        status, body = self.request("POST", "/api/v1/devices/me/verify/", {"verification_code":
                                    device["verification_code"]}, auth=key)  # fmt: skip
        assert status == 200, body
        return key


class Uploads:
    """A device's batches: each posted until a 2xx answers it (same batch_id every time, as firmware retries)."""

    _clock = iter(range(10**9))

    def __init__(self, stack: Stack, key: str):
        self.stack, self.key = stack, key
        self.accepted: dict[str, tuple[str, int]] = {}  # batch_id -> (server id, readings)
        self.failures: list[str] = []
        self.lock = threading.Lock()

    @classmethod
    def readings(cls, count: int) -> list[dict]:
        """COUNT heart rates at times no other batch of this module uses."""
        start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=next(cls._clock))
        return [
            {"metric_type": "heart_rate", "value": 60 + i % 40, "unit": "bpm",
             "recorded_at": (start + timedelta(seconds=i)).isoformat()}
            for i in range(count)
        ]  # fmt: skip

    def post(self, batch_id: str, readings: list[dict], *, within: float = 60) -> tuple[int, dict]:
        deadline = time.monotonic() + within
        while True:
            try:
                status, body = self.stack.request(
                    "POST", "/api/v1/devices/me/batches/", {"batch_id": batch_id, "readings": readings}, auth=self.key
                )
            except OSError as exc:
                status, body = 0, {"error": type(exc).__name__}
            if status in (200, 202):
                with self.lock:
                    assert self.accepted.get(batch_id, (body["id"],))[0] == body["id"], "one batch_id, two batches"
                    self.accepted[batch_id] = (body["id"], len(readings))
                return status, body
            with self.lock:
                self.failures.append(f"{status} {body}")
            assert time.monotonic() < deadline, f"batch never accepted; answers: {self.failures[-5:]}"
            time.sleep(0.2)

    def assert_stored_exactly_once(self, timeout: float = 60) -> None:
        """Waits (beat's sweeper running) until every accepted batch is final, then checks the readings."""
        ids = [server_id for server_id, _ in self.accepted.values()]
        pg = self.stack.pg

        def finished() -> bool:
            rows = pg.query(
                "SELECT count(*) FROM iot_devices_devicedatabatch WHERE id = ANY(%s::uuid[]) AND status = 'completed'",
                ids,
            )
            return rows[0][0] == len(ids)

        with Beat(self.stack):
            wait_until(finished, timeout=timeout, message=self._stuck)
        for server_id, count in self.accepted.values():
            [(stored, distinct)] = pg.query(
                "SELECT count(*), count(DISTINCT (metric_type, recorded_at)) FROM health_metrics_healthmetric"
                " WHERE device_data_batch_id = %s",
                server_id,
            )
            [(accepted, rejected)] = pg.query(
                "SELECT accepted_count, rejected_count FROM iot_devices_devicedatabatch WHERE id = %s", server_id
            )
            assert (stored, distinct, accepted, rejected) == (count, count, count, 0), server_id
        [(batches,)] = pg.query(
            "SELECT count(*) FROM iot_devices_devicedatabatch WHERE device_batch_id = ANY(%s::uuid[])",
            list(self.accepted),
        )
        assert batches == len(self.accepted), "a batch_id was stored as two batches"

    def _stuck(self) -> str:
        rows = self.stack.pg.query(
            "SELECT status, count(*) FROM iot_devices_devicedatabatch GROUP BY status ORDER BY status"
        )
        logs = "\n".join(f"--- {p.log.name}\n{tail(p.log, 1500)}" for p in self.stack.workers[-2:])
        return f"batches not all completed: {rows}\n{logs}"


class Beat(contextlib.AbstractContextManager):
    """What beat does every minute (the outbox sweeper), every 2 s while the context is open: the project's own
    Celery app (so its task routes apply) publishing to this module's Redis."""

    def __init__(self, stack: Stack):
        self.url = stack.redis.url
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(2):
            # The stack's broker has no key prefix; the test settings give this process's broker one.
            unprefixed = {"global_keyprefix": ""}
            with (
                contextlib.suppress(Exception),
                celery_app.connection_for_write(self.url, transport_options=unprefixed) as connection,
            ):
                # Redis may be down at this moment; beat tries again at its next tick.
                celery_app.send_task("iot_devices.requeue_stale_batches", connection=connection, retry=False)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = Path(tempfile.mkdtemp(prefix="jeg-faults-"))
    built = Stack(folder)
    try:
        built.start()
        yield built
    finally:
        built.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def workers(stack):
    """`workers(...)` starts a Celery worker for this test; every one is stopped after it, even on failure."""
    started: list[Process] = []

    def start(**kwargs) -> Process:
        process = stack.worker(**kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    stack.workers = [p for p in stack.workers if p not in started]


def assert_the_web_process_answers(stack: Stack, pid: int) -> None:
    assert stack.web.pid == pid and stack.web.alive(), "the web process was restarted or died"
    wait_until(stack.healthy, timeout=20, message=lambda: f"the API does not answer again:\n{tail(stack.web.log)}")


def batch_progress(stack: Stack, server_id: str) -> int:
    return stack.pg.query("SELECT processed_count FROM iot_devices_devicedatabatch WHERE id = %s", server_id)[0][0]


class TestFaults:
    def test_redis_stopped_and_started_while_batches_arrive(self, stack, workers):
        workers()
        uploads, pid = Uploads(stack, stack.pair_device()), stack.web.pid
        batches = [(str(uuid.uuid4()), Uploads.readings(BATCH_SIZE)) for _ in range(24)]

        def device() -> None:
            for batch_id, readings in batches:
                uploads.post(batch_id, readings)
                time.sleep(0.1)

        poster = threading.Thread(target=device)
        poster.start()
        wait_until(lambda: len(uploads.accepted) >= 6, timeout=30, message="no batch accepted before the outage")
        stack.redis.stop()
        before = len(uploads.accepted)
        time.sleep(3)  # the device keeps posting into the outage
        during = len(uploads.accepted) - before
        stack.redis.start()
        poster.join(timeout=90)

        assert not poster.is_alive() and len(uploads.accepted) == len(batches)
        # Throttles fell back to each process's memory and the batches waited in their table for the sweeper:
        # every upload, those of the outage too, was answered 202 at its first try.
        assert during >= 3, "the outage overlapped too few uploads to prove anything"
        assert uploads.failures == []
        uploads.assert_stored_exactly_once()
        assert stack.healthy()
        assert_the_web_process_answers(stack, pid)

    def test_a_sign_up_while_redis_is_down_still_sends_its_verification_email(self, stack):
        email = f"outage-{uuid.uuid4().hex[:8]}@example.org"
        person = {"email": email, "username": email.split("@")[0], "first_name": "Ada", "last_name": "Outage",
                  "password": "Str0ng-and-l0ng!", "password_confirm": "Str0ng-and-l0ng!"}  # fmt: skip
        stack.redis.stop()
        try:
            status, body = stack.request("POST", "/api/v1/auth/register/", person, timeout=30)
        finally:
            stack.redis.start()

        assert status == 201, body
        # No queue could take the message, so the web process sent it itself: the link arrives without a worker.
        wait_until(
            lambda: any(email in message["to"] for message in stack.smtp.messages),
            timeout=15,
            message=lambda: f"no verification e-mail reached SMTP:\n{tail(stack.web.log)}",
        )
        assert "account_mail_sent_inline" in tail(stack.web.log, 200_000)

    def test_postgres_restarted_while_a_worker_processes(self, stack, workers):
        workers(chunk_delay=0.4, chunk_size=500)
        uploads, pid = Uploads(stack, stack.pair_device()), stack.web.pid
        _, body = uploads.post(str(uuid.uuid4()), Uploads.readings(4000))
        wait_until(lambda: batch_progress(stack, body["id"]) >= 500, timeout=30, message="no progress")

        stack.pg.restart()  # the worker's open chunk transaction dies with its connection
        uploads.post(str(uuid.uuid4()), Uploads.readings(BATCH_SIZE))  # the web process answers again

        uploads.assert_stored_exactly_once()
        assert_the_web_process_answers(stack, pid)

    def test_a_worker_sigkilled_mid_batch_leaves_it_to_the_next_worker_exactly_once(self, stack, workers):
        slow = workers(chunk_delay=0.5, chunk_size=500)
        uploads, pid = Uploads(stack, stack.pair_device()), stack.web.pid
        _, body = uploads.post(str(uuid.uuid4()), Uploads.readings(3000))
        wait_until(lambda: batch_progress(stack, body["id"]) >= 1000, timeout=30, message="no progress")

        slow.kill()  # the whole worker, main process and pool child: no warm shutdown, no acknowledgement

        assert batch_progress(stack, body["id"]) < 3000
        workers()
        uploads.assert_stored_exactly_once()
        [(attempts,)] = stack.pg.query("SELECT attempts FROM iot_devices_devicedatabatch WHERE id = %s", body["id"])
        assert attempts == 2
        assert_the_web_process_answers(stack, pid)

    def test_the_same_batch_posted_concurrently_by_two_connections_is_stored_once(self, stack, workers):
        workers()
        uploads, pid = Uploads(stack, stack.pair_device()), stack.web.pid
        answers: list[tuple[int, str]] = []

        for _ in range(5):
            batch_id, readings = str(uuid.uuid4()), Uploads.readings(BATCH_SIZE)
            barrier = threading.Barrier(2)

            def post(batch_id=batch_id, readings=readings, barrier=barrier) -> None:
                barrier.wait()
                status, body = uploads.post(batch_id, readings)
                answers.append((status, body["id"]))

            threads = [threading.Thread(target=post) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)

        assert sorted(status for status, _ in answers) == [200] * 5 + [202] * 5
        assert len({server_id for _, server_id in answers}) == 5
        uploads.assert_stored_exactly_once()
        assert_the_web_process_answers(stack, pid)
