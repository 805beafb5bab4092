"""The read replica against a real streaming standby: a primary and a `pg_basebackup -R` hot standby started by the
test, the service served by gunicorn with `DATABASE_URL` on the primary and `DATABASE_REPLICA_URL` on the standby.
Both servers log every statement, so the test sees which one served each read."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

from tests.servers import PG_BIN, Gunicorn, StreamingPair

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
BASE_DIR = Path(__file__).resolve().parent.parent.parent
AFTER_WRITE_SECONDS = 2.0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (ON_POSTGRES and (PG_BIN / "initdb").exists()),
        reason="needs PostgreSQL 15's server binaries to start a primary and a standby; CI runs it",
    ),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replica")
    pair = StreamingPair()
    server = None
    try:
        pair.start()
        with psycopg.connect(pair.url("primary", "postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE jeg")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "CELERY_", "CACHE_"))},
            "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
            "DATABASE_URL": pair.url("primary", "jeg"),
            "DATABASE_REPLICA_URL": pair.url("standby", "jeg"),
            "REPLICA_READ_AFTER_WRITE_SECONDS": str(AFTER_WRITE_SECONDS),
            # One process: the local-memory cache remembers the writes, tasks run in the request.
            "REDIS_URL": "",
            "WEB_CONCURRENCY": "1",
            "EMAIL_URL": "consolemail://",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=600
        )
        server = Gunicorn(env, folder / "gunicorn.log")
        yield pair, server
    finally:
        if server is not None:
            server.close()
        pair.close()


class Statements:
    """The statements each server logged while a block ran."""

    def __init__(self, pair: StreamingPair):
        self.pair = pair

    def __enter__(self):
        self.start = {name: self.pair.log(name).stat().st_size for name in ("primary", "standby")}
        return self

    def __exit__(self, *exc):
        time.sleep(0.2)  # the servers write their log lines as they run the statements; let the last one land
        self.text = {}
        for name, offset in self.start.items():
            with self.pair.log(name).open("rb") as log:
                log.seek(offset)
                self.text[name] = log.read().decode(errors="replace")

    def reads_of(self, name: str, table: str) -> int:
        return sum(1 for line in self.text[name].splitlines() if "statement: SELECT" in line and table in line)


READINGS = "health_metrics_healthmetric"


def wait_for(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def standby_has(pair: StreamingPair, reading_id: str) -> bool:
    with psycopg.connect(pair.url("standby", "jeg")) as conn:
        return conn.execute(f"SELECT 1 FROM {READINGS} WHERE id = %s", [reading_id]).fetchone() is not None  # noqa: S608


def test_lag_tolerant_reads_go_to_the_standby_and_a_write_is_visible_to_its_author_at_once(service):
    pair, server = service
    http = httpx.Client(base_url=server.url, timeout=30)
    body = {
        "email": "replica@example.org",
        "username": "replica",
        "first_name": "Re",
        "last_name": "Plica",
        "password": "a-Long-pass-phrase-42",
        "password_confirm": "a-Long-pass-phrase-42",
    }
    registered = http.post("/api/v1/auth/register/", json=body)
    assert registered.status_code == 201, registered.text
    http.headers["Authorization"] = f"Bearer {registered.json()['tokens']['access']}"
    now = datetime.now(UTC).replace(microsecond=0)

    def add(value: float, minutes_ago: int) -> str:
        moment = (now - timedelta(minutes=minutes_ago)).isoformat()
        answer = http.post(
            "/api/v1/health-metrics/", json={"metric_type": "weight", "value": value, "recorded_at": moment}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def listed() -> int:
        answer = http.get("/api/v1/health-metrics/")
        assert answer.status_code == 200, answer.text
        return answer.json()["count"]

    first = add(70, 10)
    # Within REPLICA_READ_AFTER_WRITE_SECONDS of their own write, the author reads the primary.
    with Statements(pair) as right_after:
        assert listed() == 1
    assert right_after.reads_of("primary", READINGS) >= 1
    assert right_after.reads_of("standby", READINGS) == 0

    wait_for(lambda: standby_has(pair, first), "the standby never replayed the reading")
    time.sleep(AFTER_WRITE_SECONDS + 0.5)
    with Statements(pair) as later:
        assert listed() == 1
        summary = http.get("/api/v1/health-metrics/summary/", params={"metric_type": "weight", "period": "daily"})
        assert summary.status_code == 200
    assert later.reads_of("standby", READINGS) >= 2
    assert later.reads_of("primary", READINGS) == 0
    # Authentication stays on the primary: a revoked token must stop working at once.
    assert later.reads_of("primary", "accounts_user") >= 1

    # The standby stops replaying: the next write exists on the primary only. Its author still sees it at once.
    with psycopg.connect(pair.url("standby", "jeg"), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    add(71, 5)
    assert listed() == 2
    # Once the window has passed, the list is the standby's again, which (paused) does not have it yet: proof that
    # the standby answers. Replay resumes and it catches up.
    time.sleep(AFTER_WRITE_SECONDS + 0.5)
    assert listed() == 1
    with psycopg.connect(pair.url("standby", "jeg"), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: listed() == 2, "the standby never caught up")
