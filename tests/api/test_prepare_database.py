"""`manage.py prepare_database` (what `make run`, `make worker`, `make beat` and compose's `migrate` run): three
started at once on a fresh database all succeed, and the reference fixtures are loaded. Without its lock two of
three `migrate` runs fail there (DuplicateTable on PostgreSQL, "table already exists" on SQLite)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = BASE_DIR / ".venv" / "bin" / "python"


def run_three_at_once(database_url: str) -> list[subprocess.CompletedProcess]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
        "DATABASE_URL": database_url,
    }
    runs = [
        subprocess.Popen(
            [str(PYTHON), "manage.py", "prepare_database"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    results = []
    for run in runs:
        output, _ = run.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(run.args, run.returncode, output))
    return results


def assert_all_succeeded(results: list[subprocess.CompletedProcess]) -> None:
    for result in results:
        assert result.returncode == 0, result.stdout[-3000:]
    assert sum("No migrations to apply." in result.stdout for result in results) == 2


class TestThreeRunsAtOnceOnAFreshDatabase:
    @pytest.mark.postgres
    @pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): the advisory lock is PostgreSQL's",
    )
    def test_all_succeed_on_postgresql_and_load_the_fixtures(self):
        db = connection.settings_dict
        name = f"jeg_prepare_{uuid.uuid4().hex[:10]}"
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        server = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        admin = f"{server}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            results = run_three_at_once(f"{server}/{name}")

            assert_all_succeeded(results)
            with psycopg.connect(f"{server}/{name}") as conn:
                roles = conn.execute("SELECT count(*) FROM accounts_role").fetchone()[0]
                medications = conn.execute("SELECT count(*) FROM medications_medication").fetchone()[0]
                interactions = conn.execute("SELECT count(*) FROM medications_druginteraction").fetchone()[0]
            assert (roles, medications, interactions) == (3, 260, 125)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def test_all_succeed_on_an_sqlite_file(self, tmp_path):
        path = tmp_path / "fresh.sqlite3"

        results = run_three_at_once(f"sqlite:///{path}")

        assert_all_succeeded(results)
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM medications_medication").fetchone()[0] == 260
