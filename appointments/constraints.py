"""The PostgreSQL exclusion constraint that makes double booking impossible, and its SQLite stand-in.

On PostgreSQL, `EXCLUDE USING gist (provider_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&)` lets the
database refuse the second of two overlapping bookings, even when both transactions run at the same moment.
SQLite has no exclusion constraints; there the constraint emits no DDL and the services check for overlaps
inside a write transaction instead (SQLite runs one writer at a time, and the project opens every transaction
with BEGIN IMMEDIATE, so the check and the insert cannot interleave with another booking).
"""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Func


class TsTzRange(Func):
    """`tstzrange(start, end, bounds)`: the half-open time range an appointment occupies."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresExclusionConstraint(ExclusionConstraint):
    """An ExclusionConstraint that is a no-op (no DDL, no validation) on databases other than PostgreSQL."""

    @staticmethod
    def _is_postgres(schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if self._is_postgres(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if self._is_postgres(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if self._is_postgres(schema_editor) else None

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        if connections[using].vendor != "postgresql":
            return
        super().validate(model, instance, exclude=exclude, using=using)
