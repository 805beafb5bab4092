"""`/api/v1/health-metrics/targets/` CRUD and `targets/{id}/progress/`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from health_metrics.models import HealthMetricTarget
from tests.health_metrics.conftest import BASE, committing_client_for, set_timezone
from tests.health_metrics.factories import BloodPressureFactory, HealthMetricFactory, TargetFactory

pytestmark = pytest.mark.django_db

URL = BASE + "targets/"
STEPS_TARGET = {"metric_type": "steps", "target_type": "minimum", "target_value": 10000, "start_date": "2025-07-20"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def progress(user, target, now: str) -> dict:
    with freeze_time(now):
        response = committing_client_for(user).get(f"{URL}{target.id}/progress/")
    assert response.status_code == 200, response.json()
    return response.json()


class TestTargetCrud:
    def test_it_creates_a_target(self, client_a, user_a):
        response = client_a.post(URL, STEPS_TARGET, format="json")
        assert response.status_code == 201
        body = response.json()
        assert body["target_value"] == 10000
        assert (body["period"], body["end_date"], body["min_value"]) == ("daily", None, None)
        assert HealthMetricTarget.objects.get(pk=body["id"]).user == user_a

    def test_it_creates_a_range_target(self, client_a):
        body = {
            "metric_type": "blood_sugar",
            "target_type": "range",
            "min_value": 80,
            "max_value": 130,
            "period": "weekly",
            "start_date": "2025-07-01",
            "end_date": "2025-12-31",
        }
        response = client_a.post(URL, body, format="json")
        assert response.status_code == 201
        assert (response.json()["min_value"], response.json()["max_value"]) == (80, 130)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"target_type": "range"}, "min_value"),
            ({"target_value": None}, "target_value"),
            ({"min_value": 5}, "min_value"),
            ({"target_type": "range", "target_value": None, "min_value": 9, "max_value": 5}, "min_value"),
            ({"end_date": "2025-07-01"}, "end_date"),
            ({"metric_type": "mood"}, "metric_type"),
            ({"target_type": "exactly"}, "target_type"),
            ({"period": "hourly"}, "period"),
            ({"target_value": -5}, "target_value"),
            ({"target_value": "many"}, "target_value"),
            ({"start_date": "20 July"}, "start_date"),
            ({"metric_type": "weight", "target_value": 1000}, "target_value"),
        ],
    )
    def test_it_refuses_inconsistent_targets(self, client_a, change, field):
        response = client_a.post(URL, {**STEPS_TARGET, **change}, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
        assert not HealthMetricTarget.objects.exists()

    def test_it_lists_only_my_targets(self, client_a, user_a, user_b):
        mine = TargetFactory(user=user_a)
        TargetFactory(user=user_b)
        body = client_a.get(URL).json()
        assert [t["id"] for t in body["results"]] == [str(mine.id)]

    def test_it_changes_a_target(self, client_a, user_a):
        target = TargetFactory(user=user_a)
        response = client_a.patch(f"{URL}{target.id}/", {"target_value": 8000, "period": "weekly"}, format="json")
        assert response.status_code == 200
        target.refresh_from_db()
        assert (target.target_value, target.period) == (8000, "weekly")

    def test_switching_to_a_range_needs_its_bounds(self, client_a, user_a):
        target = TargetFactory(user=user_a)
        response = client_a.patch(f"{URL}{target.id}/", {"target_type": "range"}, format="json")
        assert "min_value" in response.json()["error"]["fields"]
        body = {"target_type": "range", "min_value": 8000, "max_value": 12000}
        assert client_a.patch(f"{URL}{target.id}/", body, format="json").json()["target_value"] is None

    def test_it_deletes_a_target(self, client_a, user_a):
        target = TargetFactory(user=user_a)
        assert client_a.delete(f"{URL}{target.id}/").status_code == 204
        assert not HealthMetricTarget.objects.exists()

    @pytest.mark.parametrize("method", ["get", "patch", "delete"])
    def test_another_persons_target_is_404(self, client_b, user_a, method):
        target = TargetFactory(user=user_a)
        response = getattr(client_b, method)(f"{URL}{target.id}/", {}, format="json")
        assert response.status_code == 404
        assert client_b.get(f"{URL}{target.id}/progress/").status_code == 404
        target.refresh_from_db()
        assert target.target_value == 10000

    def test_a_missing_target_is_404(self, client_a):
        assert client_a.get(f"{URL}{uuid.uuid4()}/progress/").status_code == 404

    def test_it_answers_401_without_credentials(self, anon, user_a):
        target = TargetFactory(user=user_a)
        assert anon.get(URL).status_code == 401
        assert anon.post(URL, STEPS_TARGET, format="json").status_code == 401
        assert anon.get(f"{URL}{target.id}/progress/").status_code == 401


class TestProgress:
    def test_a_daily_steps_target_counts_each_days_total(self, user_a):
        target = TargetFactory(user=user_a, start_date=date(2025, 7, 20))
        for moment, steps in (
            ("2025-07-20T08:00:00Z", 6000),
            ("2025-07-20T18:00:00Z", 5000),
            ("2025-07-21T09:00:00Z", 12000),
            ("2025-07-23T09:00:00Z", 10000),
            ("2025-07-24T09:00:00Z", 3000),
            ("2025-07-19T09:00:00Z", 50000),  # before the start date
        ):
            HealthMetricFactory(user=user_a, metric_type="steps", value=steps, recorded_at=at(moment))

        body = progress(user_a, target, "2025-07-24T12:00:00Z")

        assert body["target"]["id"] == str(target.id)
        assert body["periods"] == [
            {"period_start": "2025-07-20", "value": 11000, "met": True},
            {"period_start": "2025-07-21", "value": 12000, "met": True},
            {"period_start": "2025-07-22", "value": None, "met": False},
            {"period_start": "2025-07-23", "value": 10000, "met": True},
            {"period_start": "2025-07-24", "value": 3000, "met": False},
        ]
        # Today is not met yet: the streak runs up to yesterday.
        assert (body["periods_met"], body["periods_total"], body["current_streak"]) == (3, 5, 1)

    def test_the_streak_includes_the_current_period_once_met(self, user_a):
        target = TargetFactory(user=user_a, start_date=date(2025, 7, 22))
        for day in (22, 23, 24):
            HealthMetricFactory(
                user=user_a, metric_type="steps", value=10500, recorded_at=at(f"2025-07-{day}T09:00:00Z")
            )
        assert progress(user_a, target, "2025-07-24T12:00:00Z")["current_streak"] == 3

    def test_a_weight_target_uses_the_days_last_reading(self, user_a):
        target = TargetFactory(
            user=user_a, metric_type="weight", target_type="maximum", target_value=80, start_date=date(2025, 7, 23)
        )
        HealthMetricFactory(user=user_a, metric_type="weight", value=81, recorded_at=at("2025-07-23T07:00:00Z"))
        HealthMetricFactory(user=user_a, metric_type="weight", value=79.5, recorded_at=at("2025-07-23T20:00:00Z"))
        HealthMetricFactory(user=user_a, metric_type="weight", value=80.5, recorded_at=at("2025-07-24T07:00:00Z"))
        HealthMetricFactory(
            user=user_a, metric_type="weight", value=75, quality="suspect", recorded_at=at("2025-07-24T07:10:00Z")
        )

        body = progress(user_a, target, "2025-07-24T12:00:00Z")

        assert body["periods"] == [
            {"period_start": "2025-07-23", "value": 79.5, "met": True},
            {"period_start": "2025-07-24", "value": 80.5, "met": False},
        ]

    def test_a_range_target_on_blood_pressure_uses_the_systolic_average(self, user_a):
        target = TargetFactory(
            user=user_a,
            metric_type="blood_pressure",
            target_type="range",
            target_value=None,
            min_value=110,
            max_value=130,
            start_date=date(2025, 7, 24),
        )
        BloodPressureFactory(
            user=user_a, systolic_value=120, diastolic_value=80, recorded_at=at("2025-07-24T07:00:00Z")
        )
        BloodPressureFactory(
            user=user_a, systolic_value=136, diastolic_value=85, recorded_at=at("2025-07-24T09:00:00Z")
        )
        body = progress(user_a, target, "2025-07-24T12:00:00Z")
        assert body["periods"] == [{"period_start": "2025-07-24", "value": 128, "met": True}]

    def test_weekly_periods_are_local_weeks_across_a_dst_change(self, user_a):
        set_timezone(user_a, "Europe/Paris")
        target = TargetFactory(user=user_a, period="weekly", target_value=50000, start_date=date(2025, 3, 24))
        HealthMetricFactory(user=user_a, metric_type="steps", value=45000, recorded_at=at("2025-03-26T10:00:00Z"))
        # 21:30 UTC on Sunday 30 March is 23:30 in Paris (UTC+2 since 02:00): still the first week.
        HealthMetricFactory(user=user_a, metric_type="steps", value=6000, recorded_at=at("2025-03-30T21:30:00Z"))
        # 22:30 UTC is 00:30 on Monday 31 March: the second week.
        HealthMetricFactory(user=user_a, metric_type="steps", value=7000, recorded_at=at("2025-03-30T22:30:00Z"))

        body = progress(user_a, target, "2025-04-02T12:00:00Z")

        assert body["periods"] == [
            {"period_start": "2025-03-24", "value": 51000, "met": True},
            {"period_start": "2025-03-31", "value": 7000, "met": False},
        ]
        assert body["current_streak"] == 1

    def test_periods_stop_at_the_end_date(self, user_a):
        target = TargetFactory(
            user=user_a,
            period="monthly",
            target_type="maximum",
            target_value=300000,
            start_date=date(2025, 5, 10),
            end_date=date(2025, 6, 15),
        )
        HealthMetricFactory(user=user_a, metric_type="steps", value=1000, recorded_at=at("2025-06-15T12:00:00Z"))
        HealthMetricFactory(user=user_a, metric_type="steps", value=9000, recorded_at=at("2025-06-16T12:00:00Z"))

        body = progress(user_a, target, "2025-07-24T12:00:00Z")

        assert body["periods"] == [
            {"period_start": "2025-05-01", "value": None, "met": False},
            {"period_start": "2025-06-01", "value": 1000, "met": True},
        ]

    def test_a_target_starting_tomorrow_has_no_periods(self, user_a):
        target = TargetFactory(user=user_a, start_date=date(2025, 7, 25))
        body = progress(user_a, target, "2025-07-24T12:00:00Z")
        assert (body["periods"], body["periods_total"], body["current_streak"]) == ([], 0, 0)
