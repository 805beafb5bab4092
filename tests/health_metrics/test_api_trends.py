"""`GET /api/v1/health-metrics/trends/`: change against the previous period, slope, 7-day moving average."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.health_metrics.conftest import BASE, committing_client_for, set_timezone
from tests.health_metrics.factories import BloodPressureFactory, HealthMetricFactory

pytestmark = pytest.mark.django_db

URL = BASE + "trends/"
TODAY_NOON = datetime(2025, 7, 24, 12, 0, tzinfo=UTC)


def trends(user, **params) -> dict:
    with freeze_time(TODAY_NOON):
        response = committing_client_for(user).get(URL, params)
    assert response.status_code == 200, response.json()
    return response.json()


class TestTrends:
    def test_it_compares_with_the_previous_period(self, user_a):
        for days_ago in range(7, 14):  # 11-17 July: 70 every day
            HealthMetricFactory(user=user_a, value=70, recorded_at=TODAY_NOON - timedelta(days=days_ago))
        for days_ago in range(7):  # 18-24 July: 71, 72, … 77
            HealthMetricFactory(user=user_a, value=77 - days_ago, recorded_at=TODAY_NOON - timedelta(days=days_ago))

        body = trends(user_a, metric_type="heart_rate", days=7)

        assert (body["start_date"], body["end_date"], body["previous_start_date"]) == (
            "2025-07-18",
            "2025-07-24",
            "2025-07-11",
        )
        assert body["current"] == {"count": 7, "avg": 74}
        assert body["previous"] == {"count": 7, "avg": 70}
        assert (body["change"], body["change_percent"]) == (4, 5.71)
        assert body["slope_per_day"] == pytest.approx(1.0)
        moving = body["moving_average"]
        assert [m["date"] for m in moving] == [f"2025-07-{d}" for d in range(18, 25)]
        assert moving[0] == {"date": "2025-07-18", "value": 71, "average_7d": pytest.approx(70.1429)}
        assert moving[-1]["average_7d"] == 74

    def test_steps_trend_on_daily_totals(self, user_a):
        for days_ago, steps in ((0, 4000), (0, 6000), (1, 8000)):
            HealthMetricFactory(
                user=user_a,
                metric_type="steps",
                value=steps,
                recorded_at=TODAY_NOON - timedelta(days=days_ago, hours=1),
            )
        body = trends(user_a, metric_type="steps", days=7)
        assert body["current"] == {"count": 3, "avg": 9000}
        assert body["moving_average"][-1]["value"] == 10000
        assert body["slope_per_day"] == pytest.approx(2000)

    def test_blood_pressure_trends_per_value(self, user_a):
        BloodPressureFactory(
            user=user_a, systolic_value=130, diastolic_value=85, recorded_at=TODAY_NOON - timedelta(days=1)
        )
        BloodPressureFactory(user=user_a, systolic_value=120, diastolic_value=80, recorded_at=TODAY_NOON)

        body = trends(user_a, metric_type="blood_pressure", days=7)

        assert "current" not in body
        assert body["systolic"]["current"] == {"count": 2, "avg": 125}
        assert body["systolic"]["slope_per_day"] == pytest.approx(-10)
        assert body["diastolic"]["slope_per_day"] == pytest.approx(-5)

    def test_without_readings_the_figures_are_null(self, user_a):
        body = trends(user_a, metric_type="weight", days=3)
        assert body["current"] == {"count": 0, "avg": None}
        assert (body["change"], body["slope_per_day"]) == (None, None)
        assert [m["value"] for m in body["moving_average"]] == [None, None, None]

    def test_days_are_local_across_a_dst_change(self, user_a):
        set_timezone(user_a, "Europe/Paris")
        # 30 March 2025 is 23 hours long in Paris; 22:30 UTC on the 30th is already the 31st.
        HealthMetricFactory(user=user_a, value=60, recorded_at=datetime(2025, 3, 29, 23, 30, tzinfo=UTC))
        HealthMetricFactory(user=user_a, value=80, recorded_at=datetime(2025, 3, 30, 22, 30, tzinfo=UTC))
        with freeze_time("2025-04-01T08:00:00Z"):
            body = committing_client_for(user_a).get(URL, {"metric_type": "heart_rate", "days": 4}).json()
        assert [(m["date"], m["value"]) for m in body["moving_average"]] == [
            ("2025-03-29", None),
            ("2025-03-30", 60),
            ("2025-03-31", 80),
            ("2025-04-01", None),
        ]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"days": 7}, "metric_type"),
            ({"metric_type": "weight", "days": 0}, "days"),
            ({"metric_type": "weight", "days": 366}, "days"),
            ({"metric_type": "weight", "days": "week"}, "days"),
        ],
    )
    def test_it_refuses_malformed_parameters(self, client_a, params, field):
        response = client_a.get(URL, params)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]

    def test_it_answers_401_without_credentials(self, anon):
        assert anon.get(URL, {"metric_type": "weight"}).status_code == 401

    def test_another_persons_readings_do_not_count(self, user_a, user_b):
        HealthMetricFactory(user=user_b, value=70, recorded_at=TODAY_NOON)
        assert trends(user_a, metric_type="heart_rate", days=7)["current"]["count"] == 0
