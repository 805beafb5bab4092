"""Every list's `count`: exact up to 10,000 items, PostgreSQL's estimate above, and `count_is_estimate` says which."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from health_metrics.models import HealthMetric
from jeghealth_backend.api.pagination import EXACT_COUNT_LIMIT
from tests.health_metrics.factories import HealthMetricFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
BASE = "/api/v1/health-metrics/"


@pytest.mark.django_db
def test_a_short_list_counts_exactly(client_a, user_a):
    HealthMetricFactory.create_batch(3, user=user_a)

    body = client_a.get(BASE).json()

    assert (body["count"], body["count_is_estimate"], len(body["results"])) == (3, False, 3)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="the estimate is PostgreSQL's planner's; SQLite counts exactly")
@pytest.mark.django_db
def test_a_list_past_ten_thousand_answers_an_estimate_and_pages_on(client_a, user_a):
    table = HealthMetric._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, user_id, metric_type, value, unit, entered_value, entered_unit, recorded_at, "  # noqa: S608
            "source, is_manual_entry, notes, metadata, quality, is_anomaly, anomaly_reason, created_at, "
            "recorded_offset_minutes, source_name) "
            "SELECT gen_random_uuid(), %s, 'heart_rate', 60, 'bpm', 60, 'bpm', "
            "now() - make_interval(mins => g), 'manual', true, '', '{}', 'ok', false, '', now(), 0, 'manual' "
            "FROM generate_series(1, %s) AS g",
            [user_a.pk, EXACT_COUNT_LIMIT + 500],
        )
        cursor.execute(f"ANALYZE {table}")

    body = client_a.get(BASE, {"limit": 20, "offset": 40}).json()
    exact = client_a.get(BASE, {"metric_type": "weight"}).json()

    assert body["count_is_estimate"] is True
    assert body["count"] > EXACT_COUNT_LIMIT
    assert len(body["results"]) == 20 and body["next"] is not None
    assert (exact["count"], exact["count_is_estimate"]) == (0, False)
