"""Nothing is lost when things break, proved with a real Celery worker process against PostgreSQL and Redis.

Each test starts `celery -A jeghealth_backend worker -Q ingest,default --pool=prefork -c 1` as a subprocess on
the test database (DATABASE_URL names it), with the broker of this run (REDIS_URL's database, under a key prefix of
this run that these tests empty) and a short lease (IOT_BATCH_LEASE_SECONDS=3) so that take-overs happen in seconds.
The kill tests slow each chunk down through tests/slow_chunk_worker.py, which starts the worker with each chunk's
transaction held open, so that the SIGKILL lands inside a chunk: its rows are inserted but not committed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from kombu.exceptions import OperationalError

from health_metrics.models import HealthMetric
from iot_devices import ingestion
from iot_devices.models import DeviceDataBatch
from iot_devices.tasks import process_batch
from jeghealth_backend.celery import app as celery_app

from .factories import heart_rates, pair_device

BASE_DIR = Path(django_settings.BASE_DIR)
UPLOAD = "/api/v1/devices/me/batches/"
LEASE_SECONDS = 3

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL: a real worker process cannot share an SQLite test database (set DATABASE_URL)",
    ),
    pytest.mark.skipif(
        not django_settings.REDIS_URL, reason="needs Redis as the broker of a real worker (set REDIS_URL)"
    ),
    pytest.mark.django_db(transaction=True),
]


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker_command(chunk_delay: float) -> list[str]:
    if not chunk_delay:
        return [str(BASE_DIR / ".venv/bin/celery")]
    return [str(BASE_DIR / ".venv/bin/python"), str(BASE_DIR / "tests/slow_chunk_worker.py"), str(chunk_delay)]


class Worker:
    """One `celery worker` process group that this test started, and its log."""

    def __init__(self, *, chunk_delay: float = 0.0, chunk_size: int = 1000):
        self.name = f"iot-test-{uuid.uuid4().hex[:8]}@%h"
        self.log = tempfile.NamedTemporaryFile(prefix="iot-worker-", suffix=".log", delete=False)  # noqa: SIM115
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": django_settings.CELERY_BROKER_URL,
            # This run's keys only: the database may be shared (see the `broker` fixture).
            "CELERY_BROKER_KEY_PREFIX": django_settings.CELERY_BROKER_KEY_PREFIX,
            "CACHE_KEY_PREFIX": django_settings.CACHE_KEY_PREFIX,
            "IOT_BATCH_LEASE_SECONDS": str(LEASE_SECONDS),
            "IOT_INGEST_CHUNK_SIZE": str(chunk_size),
            "CELERY_VISIBILITY_TIMEOUT": "30",
            "CELERY_TASK_SOFT_TIME_LIMIT": "20",
            "CELERY_TASK_TIME_LIMIT": "25",
            "CONN_MAX_AGE": "0",
        }
        self.process = subprocess.Popen(
            [
                *_worker_command(chunk_delay),
                "-A",
                "jeghealth_backend",
                "worker",
                "-Q",
                "ingest,default",
                "--pool=prefork",
                "-c",
                "1",
                "-n",
                self.name,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the test can kill it whole, and only it
        )
        self._wait_for("ready.", timeout=30)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def _wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker not {text!r}:\n{self.output()[-3000:]}")

    def pool_children(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return children

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool child, no warm shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def delete_run_keys(client: redis.Redis) -> None:
    """Delete this run's broker and cache keys (their prefixes), never anything else of the database."""
    for prefix in (django_settings.CELERY_BROKER_KEY_PREFIX, django_settings.CACHE_KEY_PREFIX + ":"):
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.unlink(*keys)


@pytest.fixture
def broker(settings):
    """The real broker for this test process (the test settings run tasks eagerly), this run's keys of it emptied
    before and after; the lease of the workers, for this process's sweeper."""
    settings.IOT_BATCH_LEASE_SECONDS = LEASE_SECONDS
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    delete_run_keys(client)
    eager, propagates = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False
    yield client
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = eager, propagates
    delete_run_keys(client)


@pytest.fixture
def workers(broker):
    started: list[Worker] = []

    def start(**kwargs) -> Worker:
        worker = Worker(**kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_until(predicate, *, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def batch_row(batch_pk) -> DeviceDataBatch:
    return DeviceDataBatch.objects.defer("payload").get(pk=batch_pk)


def upload(paired, readings) -> str:
    r = paired.client().post(UPLOAD, {"batch_id": str(uuid.uuid4()), "readings": readings}, format="json")
    assert r.status_code == 202, r.content
    return r.json()["id"]


def assert_stored_exactly_once(batch_pk, expected: int) -> None:
    rows = HealthMetric.objects.filter(device_data_batch_id=batch_pk)
    assert rows.count() == expected
    assert rows.values("metric_type", "recorded_at").distinct().count() == expected
    batch = batch_row(batch_pk)
    assert (batch.status, batch.accepted_count, batch.rejected_count) == ("completed", expected, 0)


class TestWithARealWorker:
    def test_an_upload_is_processed_by_the_worker(self, user_a, workers):
        workers()
        watch = pair_device(user_a)
        batch_pk = upload(watch, heart_rates(1500))
        wait_until(lambda: batch_row(batch_pk).status == "completed", timeout=30, message="the worker did not finish")
        assert_stored_exactly_once(batch_pk, 1500)

    def test_a_batch_uploaded_while_the_broker_is_down_is_finished_by_the_sweeper(self, user_a, workers):
        worker = workers()
        watch = pair_device(user_a)
        with mock.patch.object(process_batch, "apply_async", side_effect=OperationalError("connection refused")):
            batch_pk = upload(watch, heart_rates(1200))
        time.sleep(1)
        assert batch_row(batch_pk).status == "received"
        assert not HealthMetric.objects.exists()

        # Beat runs the sweeper every minute; here, once the batch has waited a lease period.
        time.sleep(LEASE_SECONDS)
        assert ingestion.batches_requeue_stale() == 1
        wait_until(
            lambda: batch_row(batch_pk).status == "completed",
            timeout=30,
            message=f"not finished after the sweep:\n{worker.output()[-3000:]}",
        )
        assert_stored_exactly_once(batch_pk, 1200)

    def test_a_worker_killed_mid_batch_leaves_it_to_the_next_worker_exactly_once(self, user_a, workers):
        slow = workers(chunk_delay=1.0, chunk_size=500)
        watch = pair_device(user_a)
        batch_pk = upload(watch, heart_rates(3000))
        wait_until(
            lambda: batch_row(batch_pk).processed_count >= 1000,
            timeout=30,
            message=f"the slow worker made no progress:\n{slow.output()[-3000:]}",
        )
        slow.kill()  # inside a chunk: its rows are inserted, not committed

        killed = batch_row(batch_pk)
        assert killed.status == "processing"
        assert killed.processed_count < 3000
        assert HealthMetric.objects.filter(device_data_batch_id=batch_pk).count() == killed.processed_count

        fresh = workers()
        time.sleep(LEASE_SECONDS)  # the dead worker's lease runs out; beat's sweeper then enqueues it again
        ingestion.batches_requeue_stale()
        wait_until(
            lambda: batch_row(batch_pk).status == "completed",
            timeout=30,
            message=f"the next worker did not finish:\n{fresh.output()[-3000:]}",
        )
        assert_stored_exactly_once(batch_pk, 3000)
        assert batch_row(batch_pk).attempts == 2

    def test_a_killed_pool_child_is_redelivered_and_finished_without_the_sweeper(self, user_a, workers):
        worker = workers(chunk_delay=0.5, chunk_size=500)
        watch = pair_device(user_a)
        batch_pk = upload(watch, heart_rates(2000))
        wait_until(
            lambda: batch_row(batch_pk).processed_count >= 500,
            timeout=30,
            message=f"no progress:\n{worker.output()[-3000:]}",
        )
        (child,) = worker.pool_children()
        os.kill(child, signal.SIGKILL)
        # task_reject_on_worker_lost requeues the message at once; the redelivery finds the dead child's lease
        # live, retries after it, and then resumes at the first uncommitted chunk.
        wait_until(
            lambda: batch_row(batch_pk).status == "completed",
            timeout=40,
            message=f"not finished after the child was killed:\n{worker.output()[-3000:]}",
        )
        assert_stored_exactly_once(batch_pk, 2000)
        assert batch_row(batch_pk).attempts == 2

    def test_the_workers_log_lines_of_a_batch_carry_the_request_id_of_its_upload(self, user_a, workers):
        worker = workers()
        watch = pair_device(user_a)
        body = {"batch_id": str(uuid.uuid4()), "readings": heart_rates(10)}
        r = watch.client().post(UPLOAD, body, format="json", HTTP_X_REQUEST_ID="upload-req-11")
        assert r.status_code == 202
        wait_until(lambda: batch_row(r.json()["id"]).status == "completed", timeout=30, message="not finished")

        def task_lines() -> list[dict]:
            lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
            return [line for line in lines if "iot_devices.process_batch" in line.get("message", "")]

        # The success line is written just after the batch row is committed: wait for it.
        succeeded = wait_until(
            lambda: [line for line in task_lines() if "succeeded" in line["message"]],
            timeout=10,
            message=f"no success line:\n{worker.output()[-3000:]}",
        )
        assert [line["request_id"] for line in succeeded] == ["upload-req-11"]
