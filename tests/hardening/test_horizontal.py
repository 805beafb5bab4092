"""Horizontal: two gunicorn instances (two ports, the load spread over both) and three Celery workers with one beat,
against one PostgreSQL and a Redis of the test's own, under a small run of bench/load_bench.py's mixed load: no
errors, every batch stored exactly once, and each tick of a periodic task received by exactly one worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.servers import RedisServer, free_port

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
BASE_DIR = Path(__file__).resolve().parent.parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.skipif(not ON_POSTGRES, reason="several processes share one database: PostgreSQL; CI runs it"),
]


def test_two_web_instances_and_three_workers_store_every_batch_once_and_run_periodic_work_once(tmp_path):
    redis = RedisServer()
    redis.start()
    db = settings.DATABASES["default"]
    # A database of the run's own (the bench creates and migrates it), next to the test database.
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}_horizontal"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "CELERY_", "CACHE_"))},
        "DATABASE_URL": url,
        "BENCH_REDIS_URL": redis.url(0),
        "WEB_CONCURRENCY": "1",
    }
    port = free_port()
    try:
        run = subprocess.run(
            [sys.executable, "bench/load_bench.py", "--web", "2", "--workers", "3", "--beat", "--duration", "8",
             "--people", "3", "--devices", "2", "--batch", "50", "--port", str(port)],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        redis.close()
        _drop_database(db, f"{db['NAME']}_horizontal")
    report = run.stdout + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert "stored exactly once, periodic work not doubled: yes" in run.stdout, report
    assert "2 gunicorn instance(s)" in run.stdout and "3 Celery worker process(es)" in run.stdout, report
    # Both instances served requests.
    logs = BASE_DIR / "var" / "load_bench"
    assert (logs / "web0.log").exists() and (logs / "web1.log").exists()


def _drop_database(db: dict, name: str) -> None:
    """The run's own database goes with it (the test owns what it uses)."""
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
