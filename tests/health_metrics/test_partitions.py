"""The readings table range-partitioned by month on PostgreSQL: the migration that moves existing rows, routing of
new rows to their month (or the DEFAULT partition), the beat task creating months ahead, and the offline-sync key
holding across partitions under concurrency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from health_metrics import services
from health_metrics.models import ClientRecordKey, HealthMetric
from health_metrics.partitions import DEFAULT_PARTITION, PARENT, partition_name, partition_of, partitions_ensure
from health_metrics.tasks import ensure_partitions
from tests.accounts.factories import UserFactory
from tests.concurrency import run_together
from tests.migrating import migrate_to, migrate_to_latest

from .conftest import BASE, committing_client_for

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not ON_POSTGRES, reason="declarative partitioning is PostgreSQL's; SQLite keeps the plain table"
    ),
]

BEFORE = [("health_metrics", "0010_reading_device_data_batch_id")]
AFTER = [("health_metrics", "0011_partitioned_readings")]


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", [PARENT])
        return {row[0] for row in cursor.fetchall()}


def month(moment: datetime) -> str:
    return partition_name(moment.date().replace(day=1))


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_row_of_a_populated_table_into_its_month():
    old = migrate_to(BEFORE)
    try:
        User = old.get_model("accounts", "User")
        Reading = old.get_model("health_metrics", "HealthMetric")
        person = User.objects.create(email="history@example.org", username="history", password="x")
        moments = [datetime(2024, 1, 31, 23, 59, tzinfo=UTC) + timedelta(days=9 * i, minutes=i) for i in range(60)]
        key = uuid.uuid4()
        rows = [
            Reading(
                user=person,
                metric_type="heart_rate",
                value=60 + i,
                unit="bpm",
                recorded_at=moment,
                client_record_id=key if i == 7 else None,
            )
            for i, moment in enumerate(moments)
        ]
        Reading.objects.bulk_create(rows)
        assert not partitions()

        migrate_to(AFTER)

        readings = HealthMetric.objects.filter(user_id=person.pk)
        assert readings.count() == 60
        assert sorted(readings.values_list("value", flat=True)) == [60.0 + i for i in range(60)]
        for row in rows:
            assert partition_of(row.pk) == month(row.recorded_at), row.recorded_at
        assert {month(m) for m in moments} | {DEFAULT_PARTITION} <= partitions()
        # The offline-sync key moved to its own table with the reading holding it; a replay stores nothing.
        assert ClientRecordKey.objects.get(user_id=person.pk, client_record_id=key).reading_id == rows[7].pk
        client = committing_client_for(get_user_model().objects.get(pk=person.pk))
        replay = client.post(
            BASE,
            {
                "metric_type": "heart_rate",
                "value": 99,
                "recorded_at": "2026-01-01T00:00:00Z",
                "client_record_id": str(key),
            },
            format="json",
        )
        assert (replay.status_code, replay.json()["id"]) == (200, str(rows[7].pk))
        assert readings.count() == 60
    finally:
        migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_the_migration_reverses_to_a_plain_table_with_every_row():
    person = UserFactory()
    reading = HealthMetric.objects.create(
        user=person, metric_type="weight", value=70, unit="kg", recorded_at=datetime(2025, 3, 3, tzinfo=UTC)
    )
    try:
        migrate_to(BEFORE)
        assert not partitions()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {PARENT} WHERE id = %s", [reading.pk])  # noqa: S608
            assert cursor.fetchone() == (70.0,)
    finally:
        migrate_to_latest()
    assert partition_of(reading.pk) == partition_name(datetime(2025, 3, 1).date())


@pytest.mark.django_db
def test_new_readings_go_to_their_month_and_outliers_to_the_default_partition(client_a):
    now = timezone.now().replace(microsecond=0)
    current = client_a.post(
        BASE, {"metric_type": "heart_rate", "value": 70, "recorded_at": now.isoformat()}, format="json"
    )
    outlier = client_a.post(
        BASE, {"metric_type": "heart_rate", "value": 71, "recorded_at": "2001-05-05T10:00:00Z"}, format="json"
    )

    assert (current.status_code, outlier.status_code) == (201, 201)
    assert partition_of(current.json()["id"]) == month(now)
    assert partition_of(outlier.json()["id"]) == DEFAULT_PARTITION
    # Reads through the parent see both, and the list filter prunes to the months asked for.
    assert client_a.get(BASE).json()["count"] == 2


@pytest.mark.django_db
def test_the_beat_task_creates_months_ahead_once_and_moves_stray_rows_out_of_the_default():
    person = UserFactory()
    far = datetime(2031, 2, 10, 9, tzinfo=UTC)
    stray = HealthMetric.objects.create(user=person, metric_type="steps", value=900, unit="steps", recorded_at=far)
    assert partition_of(stray.pk) == DEFAULT_PARTITION

    created = partitions_ensure(now=datetime(2031, 1, 20, tzinfo=UTC), months_ahead=2)

    assert created == [f"{PARENT}_p2031_01", f"{PARENT}_p2031_02", f"{PARENT}_p2031_03"]
    assert partition_of(stray.pk) == f"{PARENT}_p2031_02"
    assert partitions_ensure(now=datetime(2031, 1, 20, tzinfo=UTC), months_ahead=2) == []
    # The scheduled task keeps the current month and MONTHS_AHEAD more: all there since the migration.
    assert ensure_partitions() == []
    assert month(timezone.now()) in partitions()
    assert "health-metrics-ensure-partitions" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.django_db
def test_the_beat_task_gives_an_imported_past_month_its_partition_and_empties_the_default(client_a, user_a):
    # A history older than the months the migration built: it lands in the default partition.
    old = datetime(2019, 3, 5, 8, tzinfo=UTC)
    response = client_a.post(
        BASE,
        {"metric_type": "weight", "value": 71.5, "unit": "kg", "recorded_at": old.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert partition_of(response.json()["id"]) == DEFAULT_PARTITION

    created = ensure_partitions()

    assert created == [f"{PARENT}_p2019_03"]
    assert partition_of(response.json()["id"]) == f"{PARENT}_p2019_03"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608 - our own table name
        assert cursor.fetchone()[0] == 0
    assert client_a.get(BASE + f"{response.json()['id']}/").json()["value"] == 71.5
    assert ensure_partitions() == []


@pytest.mark.django_db(transaction=True)
def test_racing_replays_of_one_client_record_id_at_different_months_store_one_reading():
    """The key is not in the readings table (its unique keys must hold recorded_at), so two replays of one record
    whose times differ, which land in two partitions, still store once."""
    person = UserFactory()
    key = str(uuid.uuid4())
    bodies = [
        {"metric_type": "weight", "value": 70, "recorded_at": f"2025-0{m}-15T08:00:00Z", "client_record_id": key}
        for m in (1, 2, 3, 4)
    ]

    results = run_together(*[lambda body=body: services.metric_create(user=person, data=body) for body in bodies])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert HealthMetric.objects.filter(user=person).count() == 1
    assert ClientRecordKey.objects.filter(user=person).count() == 1


@pytest.mark.django_db
def test_a_deleted_readings_key_is_free_again(client_a):
    key = str(uuid.uuid4())
    body = {"metric_type": "weight", "value": 70, "recorded_at": "2025-05-15T08:00:00Z", "client_record_id": key}
    first = client_a.post(BASE, body, format="json")
    assert client_a.delete(f"{BASE}{first.json()['id']}/").status_code == 204

    again = client_a.post(BASE, body, format="json")

    assert again.status_code == 201
    assert HealthMetric.objects.filter(client_record_id=key).count() == 1
    # A reading deleted behind the service's back (raw SQL, the admin's bulk delete) leaves its key: freed on replay.
    HealthMetric.objects.filter(pk=again.json()["id"]).delete()
    assert client_a.post(BASE, body, format="json").status_code == 201
