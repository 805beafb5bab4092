"""Insights: what rules can state from a person's numbers, with the numbers behind it; `GET insights/`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from medications import selectors as medication_selectors
from medications.services import dose_log
from tests.health_metrics.factories import TargetFactory

from .factories import reading_days_ago, start_regimen

pytestmark = pytest.mark.django_db

URL = "/api/v1/insights/"


def _insights(client, code: str) -> list[dict]:
    response = client.get(URL)
    assert response.status_code == 200
    return [item for item in response.json()["insights"] if item["code"] == code]


class TestInsightsEndpoint:
    def test_it_needs_a_token(self, anon):
        assert anon.get(URL).status_code == 401

    def test_a_new_person_has_none(self, client_a):
        body = client_a.get(URL).json()
        assert body["insights"] == []
        assert "generated_at" in body


class TestAverageChange:
    def test_a_rising_systolic_pressure_is_stated_with_its_numbers(self, client_a, user_a):
        for days_ago in range(60):
            systolic = 128.0 if days_ago < 30 else 120.0
            reading_days_ago(user_a, "blood_pressure", days_ago, systolic_value=systolic, diastolic_value=80.0)
        (insight,) = _insights(client_a, "average_rose")
        assert insight["message"] == (
            "Your average systolic pressure rose 8 mmHg over the last 30 days: 128 mmHg, against 120 mmHg in the "
            "30 days before."
        )
        assert insight["data"] == {
            "metric_type": "blood_pressure",
            "series": "systolic",
            "days": 30,
            "average": 128.0,
            "previous_average": 120.0,
            "change": 8.0,
            "unit": "mmHg",
        }

    def test_a_falling_weight_is_stated(self, client_a, user_a):
        for days_ago in range(0, 60, 2):
            reading_days_ago(user_a, "weight", days_ago, value=80.0 if days_ago < 30 else 82.0)
        (insight,) = _insights(client_a, "average_fell")
        assert insight["message"].startswith("Your average weight fell 2.0 kg over the last 30 days")

    def test_too_few_days_say_nothing(self, client_a, user_a):
        for days_ago in (1, 2, 31, 32):
            reading_days_ago(
                user_a,
                "blood_pressure",
                days_ago,
                systolic_value=150.0 if days_ago < 30 else 120.0,
                diastolic_value=80.0,
            )
        assert _insights(client_a, "average_rose") == []

    def test_a_small_change_says_nothing(self, client_a, user_a):
        for days_ago in range(60):
            reading_days_ago(user_a, "heart_rate", days_ago, value=70.0 if days_ago < 30 else 68.0)
        assert _insights(client_a, "average_rose") == []


class TestTargets:
    def test_days_a_step_target_was_met_are_counted(self, client_a, user_a):
        target = TargetFactory(
            user=user_a, metric_type="steps", target_value=8000, start_date=timezone.now().date() - timedelta(days=30)
        )
        for days_ago, steps in zip(range(1, 8), (9000, 4000, 9500, 8000, 12000, 3000, 8800), strict=True):
            reading_days_ago(user_a, "steps", days_ago, value=steps)
        (insight,) = _insights(client_a, "target_periods_met")
        # Today has no steps yet: a day still running and not met is not held against the person.
        assert insight["message"] == "You met your steps target on 5 of the last 7 days."
        assert insight["data"]["periods_met"] == 5 and insight["data"]["target"] == str(target.pk)


class TestSleep:
    def test_three_short_nights_in_a_week_are_stated(self, client_a, user_a):
        for days_ago, hours in enumerate((5.5, 7.0, 5.0, 8.0, 5.9, 7.0, 7.5)):
            reading_days_ago(user_a, "sleep_hours", days_ago, value=hours)
        (insight,) = _insights(client_a, "short_sleep")
        assert insight["message"] == "You slept under 6 hours on 3 of the last 7 nights."
        assert insight["data"]["nights"] == 3 and len(insight["data"]["dates"]) == 3

    def test_two_short_nights_say_nothing(self, client_a, user_a):
        for days_ago, hours in enumerate((5.5, 7.0, 5.0, 8.0)):
            reading_days_ago(user_a, "sleep_hours", days_ago, value=hours)
        assert _insights(client_a, "short_sleep") == []


class TestFlaggedAndDoses:
    def test_flagged_readings_of_the_week_are_counted(self, client_a, user_a):
        reading_days_ago(user_a, "heart_rate", 1, value=140.0, is_anomaly=True, anomaly_reason="critical")
        reading_days_ago(user_a, "heart_rate", 2, value=135.0, is_anomaly=True, anomaly_reason="critical")
        reading_days_ago(user_a, "heart_rate", 20, value=135.0, is_anomaly=True, anomaly_reason="critical")
        (insight,) = _insights(client_a, "flagged_readings")
        assert insight["message"] == (
            "2 readings were flagged as outside your alert thresholds in the last 7 days: heart rate (2)."
        )

    def test_dose_adherence_of_the_week_is_stated(self, client_a, user_a):
        regimen = start_regimen(user_a, days_ago=10)
        now = timezone.now()
        week = medication_selectors.doses_for_day  # the doses of each day, from the medications app
        logged = 0
        for days_ago in range(1, 7):
            day = (now - timedelta(days=days_ago)).date()
            for dose in week(user=user_a, day=day, now=now):
                if days_ago % 3:
                    dose_log(regimen=regimen, scheduled_for=dose.scheduled_for, status="taken", now=now)
                    logged += 1
        adherence = medication_selectors.adherence(
            user=user_a, start_date=(now - timedelta(days=6)).date(), end_date=now.date(), now=now
        )["overall"]
        (insight,) = _insights(client_a, "dose_adherence")
        assert adherence["taken"] == logged
        assert insight["message"].startswith(
            f"You took {adherence['taken']} of {adherence['scheduled']} scheduled doses"
        )
        assert insight["data"]["percent"] == adherence["percent"]
