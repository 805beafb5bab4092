"""Sign-up e-mails need a worker: with REDIS_URL set and no worker running, the verification e-mail waits in the
`notifications` queue; `make worker`, once started, sends it. The Redis is a throwaway one of this module and
`make worker` runs against an SQLite file of its own, so the test needs neither the suite's database nor its Redis.
The worker also runs with METRICS_ENABLED: its task figures land in METRICS_DIR, where the web's /metrics reads
them (multiprocess mode)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from jeghealth_backend.celery import app as celery_app
from tests.accounts.factories import registration
from tests.servers import REDIS_SERVER, RedisServer

BASE_DIR = Path(settings.BASE_DIR)

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db,
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (CI installs it)"),
]


@pytest.fixture
def broker(settings):
    """This module's Redis as the broker of this process, tasks not eager: as a deployment with REDIS_URL set."""
    server = RedisServer()
    server.start()
    conf = celery_app.conf
    # Read before the Django setting below changes: Celery falls back to the settings for what it was not told.
    saved = conf.broker_url, conf.broker_transport_options, conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app._pool = None  # the producer pool keeps the URL it was made with; Celery does the same after a fork
    celery_app.amqp._producer_pool = None
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = server.url(), {}, False
    yield server
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
    server.close()


def make_worker(tmp_path: Path, broker: RedisServer) -> subprocess.Popen:
    """`make worker` as a person runs it, with its own SQLite file, this module's Redis and e-mail as files."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "CELERY_", "CACHE_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "REDIS_URL": broker.url(),
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",  # four slashes in all: an absolute path
        "CELERY_CONCURRENCY": "1",
        "METRICS_ENABLED": "1",
        "METRICS_DIR": str(tmp_path / "metrics"),
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "worker.log").open("wb")
    return subprocess.Popen(
        ["make", "--no-print-directory", "worker"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: make, celery and the pool child are stopped together
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(predicate, *, timeout: float, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.25)
    raise AssertionError(message())


class TestVerificationEmailWithoutAWorker:
    def test_waits_in_the_queue_until_make_worker_sends_it(
        self, anon, broker, tmp_path, django_capture_on_commit_callbacks
    ):
        body = registration()
        with django_capture_on_commit_callbacks(execute=True):
            r = anon.post("/api/v1/auth/register/", body)
        assert r.status_code == 201, r.content
        queue = redis.Redis.from_url(broker.url())
        assert queue.llen("notifications") == 1  # no worker yet: the e-mail waits
        mail = tmp_path / "mail"

        worker = make_worker(tmp_path, broker)
        try:
            sent = wait_for(
                lambda: sorted(mail.glob("*.log")) if mail.exists() else [],
                timeout=180,
                message=lambda: "no e-mail sent:\n" + (tmp_path / "worker.log").read_text(errors="replace")[-3000:],
            )
        finally:
            stop(worker)

        [message] = [path.read_text() for path in sent]
        assert f"To: {body['email']}" in message
        assert f"{settings.FRONTEND_URL}/verify-email?token=" in message
        assert queue.llen("notifications") == 0
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(tmp_path / "metrics"))
        runs = {
            sample.labels["task"]: sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "jeghealth_celery_task_duration_seconds_count"
        }
        assert runs.get("accounts.send_email") == 1
