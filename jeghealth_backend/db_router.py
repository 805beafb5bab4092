"""The database router: writes and most reads on `default` (the primary); the lag-tolerant reads that
`jeghealth_backend.replica` marks on `replica` when `DATABASE_REPLICA_URL` is set. The replica is a streaming
standby of the primary: the same rows, never migrated or written by us."""

from __future__ import annotations

from . import replica


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return replica.read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
