"""What the benchmarks share: their PostgreSQL database, and COPY into the readings table as the reference."""

from __future__ import annotations

import sys

# Every column of health_metrics_healthmetric, in the order the COPY rows give them, with their binary types.
COPY_COLUMNS = (
    "id, user_id, metric_type, value, systolic_value, diastolic_value, unit, entered_value, entered_unit, "
    "recorded_at, source, device_id, device_data_batch_id, is_manual_entry, notes, metadata, quality, is_anomaly, "
    "anomaly_reason, client_record_id, created_at, recorded_offset_minutes, ended_at, source_name"
)
COPY_TYPES = [
    "uuid", "uuid", "varchar", "float8", "float8", "float8", "varchar", "float8", "varchar",
    "timestamptz", "varchar", "uuid", "uuid", "bool", "text", "jsonb", "varchar", "bool",
    "varchar", "uuid", "timestamptz", "int2", "timestamptz", "varchar",
]  # fmt: skip


def source_columns(name: str) -> tuple:
    """The last three COPY columns of a row sent in UTC, of an instant, from the source NAME."""
    return (0, None, name)


COPY_STATEMENT = f"COPY health_metrics_healthmetric ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"


def ensure_database(url: str) -> dict:
    """Create the database that URL (a PostgreSQL DATABASE_URL) names if it does not exist; its parsed config."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit("This bench needs PostgreSQL: set DATABASE_URL=postgres://…")
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
    return config
