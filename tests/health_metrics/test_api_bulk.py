"""`POST /api/v1/health-metrics/bulk/`: up to 1,000 readings, all or nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from health_metrics.models import HealthMetric, HealthMetricSummary
from tests.health_metrics.conftest import BASE

pytestmark = pytest.mark.django_db

URL = BASE + "bulk/"
START = datetime(2025, 7, 1, tzinfo=UTC)


def heart_rates(count: int, **extra) -> list[dict]:
    return [
        {
            "metric_type": "heart_rate",
            "value": 60 + i % 30,
            "recorded_at": (START + timedelta(minutes=i)).isoformat(),
            **extra,
        }
        for i in range(count)
    ]


class TestBulk:
    def test_it_stores_every_reading_and_answers_them_in_order(self, client_a, user_a):
        items = [
            {"metric_type": "weight", "value": 154, "unit": "lb", "recorded_at": "2025-07-01T07:00:00Z"},
            {
                "metric_type": "blood_pressure",
                "systolic_value": 121,
                "diastolic_value": 79,
                "recorded_at": "2025-07-01T07:05:00+02:00",
            },
            {"metric_type": "steps", "value": 5000, "recorded_at": "2025-07-01T20:00:00Z", "notes": "walk"},
        ]
        response = client_a.post(URL, {"metrics": items}, format="json")

        assert response.status_code == 201
        body = response.json()
        assert body["created"] == 3
        assert [r["metric_type"] for r in body["results"]] == ["weight", "blood_pressure", "steps"]
        assert body["results"][0]["value"] == pytest.approx(69.853225)
        assert body["results"][1]["recorded_at"] == "2025-07-01T05:05:00Z"
        assert HealthMetric.objects.filter(user=user_a).count() == 3

    def test_it_stores_a_thousand_readings(self, client_a, user_a):
        response = client_a.post(URL, {"metrics": heart_rates(1000)}, format="json")
        assert response.status_code == 201
        assert response.json()["created"] == 1000
        assert HealthMetric.objects.filter(user=user_a).count() == 1000
        # The after-commit refresh ran: the day's rollup counts them all.
        assert HealthMetricSummary.objects.get(user=user_a, period="daily").count == 1000

    def test_it_refuses_more_than_a_thousand(self, client_a):
        response = client_a.post(URL, {"metrics": heart_rates(1001)}, format="json")
        assert response.status_code == 400
        assert "metrics" in response.json()["error"]["fields"]
        assert not HealthMetric.objects.exists()

    @pytest.mark.parametrize("body", [{"metrics": []}, {"metrics": "all"}, {}, {"readings": [1]}])
    def test_it_refuses_a_malformed_envelope(self, client_a, body):
        response = client_a.post(URL, body, format="json")
        assert response.status_code == 400
        assert "metrics" in response.json()["error"]["fields"]

    def test_one_bad_item_stores_nothing_and_is_named_by_index(self, client_a):
        items = heart_rates(5)
        items[3]["value"] = 900
        items[4]["recorded_at"] = "2025-07-01T12:00:00"

        response = client_a.post(URL, {"metrics": items}, format="json")

        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert set(error["fields"]) == {"3", "4"}
        assert error["fields"]["3"] == {"value": ["Must be between 20 and 300 bpm."]}
        assert "recorded_at" in error["fields"]["4"]
        assert not HealthMetric.objects.exists()

    def test_an_item_that_is_not_an_object_is_named_by_index(self, client_a):
        response = client_a.post(URL, {"metrics": [*heart_rates(1), "72 bpm"]}, format="json")
        assert "non_field_errors" in response.json()["error"]["fields"]["1"]
        assert not HealthMetric.objects.exists()

    def test_a_refusal_that_needs_history_is_named_by_index_too(self, client_a):
        items = [
            {"metric_type": "weight", "value": 50, "recorded_at": "2025-07-01T07:00:00Z"},
            {"metric_type": "muscle_mass", "value": 55, "recorded_at": "2025-07-01T08:00:00Z"},
        ]
        response = client_a.post(URL, {"metrics": items}, format="json")
        assert response.status_code == 400
        assert "value" in response.json()["error"]["fields"]["1"]
        assert not HealthMetric.objects.exists()

    def test_replayed_items_are_stored_once(self, client_a, user_a):
        items = heart_rates(3)
        for item in items:
            item["client_record_id"] = str(uuid.uuid4())
        first = client_a.post(URL, {"metrics": items[:2]}, format="json").json()

        again = client_a.post(URL, {"metrics": items}, format="json")

        assert again.status_code == 201
        body = again.json()
        assert body["created"] == 1
        assert [r["id"] for r in body["results"][:2]] == [r["id"] for r in first["results"]]
        assert HealthMetric.objects.filter(user=user_a).count() == 3

    def test_a_client_record_id_repeated_in_one_request_is_stored_once(self, client_a, user_a):
        items = heart_rates(2, client_record_id=str(uuid.uuid4()))
        body = client_a.post(URL, {"metrics": items}, format="json").json()
        assert body["created"] == 1
        assert body["results"][0]["id"] == body["results"][1]["id"]
        assert HealthMetric.objects.filter(user=user_a).count() == 1

    def test_it_answers_401_without_credentials(self, anon):
        assert anon.post(URL, {"metrics": heart_rates(1)}, format="json").status_code == 401
        assert not HealthMetric.objects.exists()
