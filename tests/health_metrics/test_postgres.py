"""PostgreSQL behaviour: racing offline-sync replays store once; racing rollup refreshes end current.

SQLite serialises every writer, so these races cannot happen there; they are about unique keys and advisory
locks on concurrent connections, which only PostgreSQL exercises.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings

from health_metrics import services
from health_metrics.models import HealthMetric, HealthMetricSummary
from health_metrics.summaries import aggregate_buckets, rollups_refresh
from tests.accounts.factories import UserFactory
from tests.concurrency import run_together

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent connections and unique-key waits; CI runs it"),
    pytest.mark.django_db(transaction=True),
]


def test_racing_replays_of_one_client_record_id_store_one_reading():
    person = UserFactory()
    body = {
        "metric_type": "heart_rate",
        "value": 70,
        "recorded_at": "2025-07-24T12:00:00Z",
        "client_record_id": str(uuid.uuid4()),
    }

    results = run_together(*[lambda: services.metric_create(user=person, data=body)] * 4)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({metric.id for metric, _ in results}) == 1
    assert HealthMetric.objects.filter(user=person).count() == 1


def test_racing_refreshes_of_one_bucket_leave_it_current():
    person = UserFactory()
    moment = datetime(2025, 7, 24, 8, tzinfo=UTC)
    for minutes in range(20):
        HealthMetric.objects.create(
            user=person,
            metric_type="heart_rate",
            value=60 + minutes,
            unit="bpm",
            recorded_at=moment + timedelta(minutes=minutes),
        )

    def refresh():
        rollups_refresh(user_id=person.pk, metric_type="heart_rate", start=moment, end=moment)

    results = run_together(refresh, refresh, refresh)

    assert results == [None, None, None]
    expected = aggregate_buckets(
        user_id=person.pk,
        metric_type="heart_rate",
        period="weekly",
        tz=zoneinfo.ZoneInfo("UTC"),
        first_day=date(2025, 7, 21),
        end_day=date(2025, 7, 28),
    )
    rollup = HealthMetricSummary.objects.get(user=person, period="weekly")
    assert (rollup.count, rollup.sum) == (expected[date(2025, 7, 21)]["count"], expected[date(2025, 7, 21)]["sum"])
