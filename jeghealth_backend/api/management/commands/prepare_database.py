"""`manage.py prepare_database`: migrate and load the reference fixtures, one process at a time.

`make run`, `make worker`, `make beat` and compose's `migrate` service all run it, and they may start at once on
a fresh database: two `migrate` runs racing there fail with DuplicateTable. Each run holds a lock for its whole
migrate-and-load, so the first one migrates and the others wait, then find nothing to apply and load the fixtures
again (loading updates rows in place). On PostgreSQL the lock is a session advisory lock, on a connection of its
own so that nothing `migrate` does to its connection can let go of it, and released by PostgreSQL if the process
dies; on an SQLite file it is an exclusive `flock` on a file beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# The reference data every deployment has (roles, the medication catalog and its interactions), in load order.
FIXTURES = [
    "fixtures/initial_roles.json",
    "fixtures/medications_categories.json",
    "fixtures/medications_catalog.json",
    "fixtures/medications_interactions.json",
]
# pg_advisory_lock's key: any 64-bit number that nothing else on the server uses ("JEGMIGR" in ASCII).
ADVISORY_LOCK_KEY = 0x4A45474D494752


@contextlib.contextmanager
def migration_lock(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Hold the database's migration lock for the block (see the module doc); no lock for in-memory SQLite."""
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        lock_connection = connections.create_connection(alias)
        try:
            with lock_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            try:
                yield
            finally:
                with lock_connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        finally:
            lock_connection.close()
        return
    name = str(connections[alias].settings_dict["NAME"])
    if vendor != "sqlite" or name == ":memory:" or name.startswith("file::memory:"):
        yield
        return
    with open(Path(name).with_name(Path(name).name + ".migrate-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


class Command(BaseCommand):
    help = "Apply migrations and load the reference fixtures, serialised with any other run against the database."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database: str, verbosity: int, **options):
        started = time.monotonic()
        with migration_lock(database):
            waited = time.monotonic() - started
            if waited >= 1 and verbosity:
                self.stdout.write(f"Waited {waited:.0f} s for another run's migrations.")
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
            fixtures = [str(Path(settings.BASE_DIR) / fixture) for fixture in FIXTURES]
            call_command("loaddata", *fixtures, database=database, verbosity=verbosity)
