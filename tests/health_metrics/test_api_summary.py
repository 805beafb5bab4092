"""`GET /api/v1/health-metrics/summary/`: buckets of the person's own calendar days, ISO weeks and months."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from tests.health_metrics.conftest import BASE, committing_client_for, set_timezone
from tests.health_metrics.factories import BloodPressureFactory, HealthMetricFactory

pytestmark = pytest.mark.django_db

URL = BASE + "summary/"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def summary(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.json()
    return response.json()


class TestSummary:
    def test_it_answers_401_without_credentials(self, anon):
        assert anon.get(URL, {"metric_type": "weight"}).status_code == 401

    def test_daily_buckets_follow_the_profile_timezone(self, client_a, user_a, user_b):
        set_timezone(user_a, "America/New_York")
        # 2025-07-02 02:00 UTC is 22:00 on 1 July in New York.
        for value, moment in ((60, "2025-07-01T14:00:00Z"), (80, "2025-07-02T02:00:00Z"), (70, "2025-07-02T14:00:00Z")):
            HealthMetricFactory(user=user_a, value=value, recorded_at=at(moment))
        HealthMetricFactory(user=user_b, value=200, recorded_at=at("2025-07-01T14:00:00Z"))

        body = summary(client_a, metric_type="heart_rate", start_date="2025-07-01", end_date="2025-07-02")

        assert body["metric_type"] == "heart_rate"
        assert (body["period"], body["unit"], body["timezone"]) == ("daily", "bpm", "America/New_York")
        assert body["buckets"] == [
            {"period_start": "2025-07-01", "count": 2, "min": 60, "max": 80, "avg": 70},
            {"period_start": "2025-07-02", "count": 1, "min": 70, "max": 70, "avg": 70},
        ]

    def test_weekly_buckets_start_on_monday(self, client_a, user_a):
        # Sunday 6 July and Monday 7 July 2025 fall in two ISO weeks.
        HealthMetricFactory(user=user_a, value=60, recorded_at=at("2025-07-06T12:00:00Z"))
        HealthMetricFactory(user=user_a, value=90, recorded_at=at("2025-07-07T12:00:00Z"))
        HealthMetricFactory(user=user_a, value=70, recorded_at=at("2025-07-13T12:00:00Z"))

        body = summary(
            client_a, metric_type="heart_rate", period="weekly", start_date="2025-06-30", end_date="2025-07-13"
        )

        assert [(b["period_start"], b["count"], b["avg"]) for b in body["buckets"]] == [
            ("2025-06-30", 1, 60),
            ("2025-07-07", 2, 80),
        ]

    def test_monthly_buckets(self, client_a, user_a):
        HealthMetricFactory(user=user_a, metric_type="steps", value=1000, recorded_at=at("2025-06-30T12:00:00Z"))
        HealthMetricFactory(user=user_a, metric_type="steps", value=3000, recorded_at=at("2025-07-01T12:00:00Z"))
        HealthMetricFactory(user=user_a, metric_type="steps", value=5000, recorded_at=at("2025-07-31T12:00:00Z"))

        body = summary(client_a, metric_type="steps", period="monthly", start_date="2025-06-01", end_date="2025-07-31")

        assert body["buckets"] == [
            {"period_start": "2025-06-01", "count": 1, "min": 1000, "max": 1000, "avg": 1000},
            {"period_start": "2025-07-01", "count": 2, "min": 3000, "max": 5000, "avg": 4000},
        ]

    def test_dates_are_included_and_cut_partial_periods(self, client_a, user_a):
        # The week of Monday 7 July, asked from Wednesday 9 July: Monday's reading is outside.
        HealthMetricFactory(user=user_a, value=100, recorded_at=at("2025-07-07T12:00:00Z"))
        HealthMetricFactory(user=user_a, value=60, recorded_at=at("2025-07-09T00:00:00Z"))
        HealthMetricFactory(user=user_a, value=80, recorded_at=at("2025-07-15T23:59:59Z"))
        HealthMetricFactory(user=user_a, value=120, recorded_at=at("2025-07-16T00:00:00Z"))

        body = summary(
            client_a, metric_type="heart_rate", period="weekly", start_date="2025-07-09", end_date="2025-07-15"
        )

        assert [(b["period_start"], b["count"], b["min"], b["max"]) for b in body["buckets"]] == [
            ("2025-07-07", 1, 60, 60),
            ("2025-07-14", 1, 80, 80),
        ]

    def test_blood_pressure_buckets_carry_systolic_and_diastolic(self, client_a, user_a):
        BloodPressureFactory(
            user=user_a, systolic_value=120, diastolic_value=80, recorded_at=at("2025-07-01T08:00:00Z")
        )
        BloodPressureFactory(
            user=user_a, systolic_value=140, diastolic_value=90, recorded_at=at("2025-07-01T20:00:00Z")
        )

        body = summary(client_a, metric_type="blood_pressure", start_date="2025-07-01", end_date="2025-07-01")

        assert body["buckets"] == [
            {
                "period_start": "2025-07-01",
                "count": 2,
                "systolic": {"min": 120, "max": 140, "avg": 130},
                "diastolic": {"min": 80, "max": 90, "avg": 85},
            }
        ]

    def test_suspect_readings_are_left_out(self, client_a, user_a):
        HealthMetricFactory(user=user_a, metric_type="weight", value=80, recorded_at=at("2025-07-01T08:00:00Z"))
        HealthMetricFactory(
            user=user_a, metric_type="weight", value=95, quality="suspect", recorded_at=at("2025-07-01T08:10:00Z")
        )
        body = summary(client_a, metric_type="weight", start_date="2025-07-01", end_date="2025-07-01")
        assert [(b["count"], b["max"]) for b in body["buckets"]] == [(1, 80)]

    def test_days_across_a_dst_change_are_local_days(self, client_a, user_a):
        set_timezone(user_a, "Europe/Paris")
        # Clocks go forward at 02:00 on Sunday 30 March 2025: that day is 23 hours long.
        moments = [
            "2025-03-29T22:59:00Z",  # 23:59 on the 29th (UTC+1)
            "2025-03-29T23:00:00Z",  # 00:00 on the 30th
            "2025-03-30T21:59:00Z",  # 23:59 on the 30th (UTC+2)
            "2025-03-30T22:00:00Z",  # 00:00 on the 31st
        ]
        for value, moment in zip((60, 70, 80, 90), moments, strict=True):
            HealthMetricFactory(user=user_a, value=value, recorded_at=at(moment))

        body = summary(client_a, metric_type="heart_rate", start_date="2025-03-29", end_date="2025-03-31")
        assert [(b["period_start"], b["count"], b["avg"]) for b in body["buckets"]] == [
            ("2025-03-29", 1, 60),
            ("2025-03-30", 2, 75),
            ("2025-03-31", 1, 90),
        ]
        weekly = summary(
            client_a, metric_type="heart_rate", period="weekly", start_date="2025-03-24", end_date="2025-04-06"
        )
        assert [(b["period_start"], b["count"]) for b in weekly["buckets"]] == [("2025-03-24", 3), ("2025-03-31", 1)]

    def test_it_defaults_to_the_last_30_local_days(self, user_a):
        set_timezone(user_a, "Pacific/Auckland")
        with freeze_time("2025-07-24T20:00:00Z"):  # 25 July, 08:00 in Auckland
            client = committing_client_for(user_a)
            HealthMetricFactory(user=user_a, value=70, recorded_at=at("2025-07-24T19:00:00Z"))
            HealthMetricFactory(user=user_a, value=70, recorded_at=at("2025-06-25T11:00:00Z"))  # 24 June, local
            body = summary(client, metric_type="heart_rate")
        assert (body["start_date"], body["end_date"]) == ("2025-06-26", "2025-07-25")
        assert [b["period_start"] for b in body["buckets"]] == ["2025-07-25"]

    def test_a_write_is_visible_in_the_next_read(self, client_a):
        params = {"metric_type": "heart_rate", "start_date": "2025-07-01", "end_date": "2025-07-01"}
        assert summary(client_a, **params)["buckets"] == []
        created = client_a.post(
            BASE, {"metric_type": "heart_rate", "value": 64, "recorded_at": "2025-07-01T09:00:00Z"}, format="json"
        ).json()
        assert summary(client_a, **params)["buckets"][0]["count"] == 1
        client_a.patch(f"{BASE}{created['id']}/", {"value": 66}, format="json")
        assert summary(client_a, **params)["buckets"][0]["avg"] == 66
        client_a.delete(f"{BASE}{created['id']}/")
        assert summary(client_a, **params)["buckets"] == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({}, "metric_type"),
            ({"metric_type": "mood"}, "metric_type"),
            ({"metric_type": "weight", "period": "hourly"}, "period"),
            ({"metric_type": "weight", "start_date": "01/07/2025"}, "start_date"),
            ({"metric_type": "weight", "start_date": "2025-07-02", "end_date": "2025-07-01"}, "start_date"),
            ({"metric_type": "weight", "start_date": "2015-01-01", "end_date": "2025-07-01"}, "start_date"),
        ],
    )
    def test_it_refuses_malformed_parameters(self, client_a, params, field):
        response = client_a.get(URL, params)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
