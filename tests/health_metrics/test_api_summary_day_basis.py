"""`summary/?day_basis=recorded`: each reading on its own local date, the offset it was sent with."""

from __future__ import annotations

import pytest

from tests.health_metrics.conftest import BASE, set_timezone

pytestmark = pytest.mark.django_db

TRIP = [
    # Two mornings in Tokyo, then a flight to New York and a morning there.
    ("2025-03-10T07:00:00+09:00", 60),
    ("2025-03-11T07:30:00+09:00", 62),
    ("2025-03-11T20:00:00-04:00", 80),
    ("2025-03-12T08:00:00-04:00", 70),
]


def record_trip(client) -> None:
    items = [{"metric_type": "heart_rate", "value": value, "recorded_at": at} for at, value in TRIP]
    assert client.post(BASE + "bulk/", {"metrics": items}, format="json").status_code == 201


def buckets(client, **query) -> list[tuple[str, int, float]]:
    response = client.get(
        BASE + "summary/",
        {"metric_type": "heart_rate", "start_date": "2025-03-08", "end_date": "2025-03-14", **query},
    )
    assert response.status_code == 200, response.json()
    return [(b["period_start"], b["count"], b["avg"]) for b in response.json()["buckets"]]


class TestTravel:
    def test_with_recorded_the_tokyo_readings_stay_on_their_tokyo_dates(self, client_a, user_a):
        set_timezone(user_a, "America/New_York")
        record_trip(client_a)

        assert buckets(client_a, day_basis="recorded") == [
            ("2025-03-10", 1, 60.0),
            ("2025-03-11", 2, 71.0),
            ("2025-03-12", 1, 70.0),
        ]

    def test_with_profile_they_move_to_new_york_dates(self, client_a, user_a):
        set_timezone(user_a, "America/New_York")
        record_trip(client_a)

        # 07:00 in Tokyo on the 10th was 18:00 on the 9th in New York.
        assert buckets(client_a) == [("2025-03-09", 1, 60.0), ("2025-03-10", 1, 62.0), ("2025-03-11", 1, 80.0),
                                     ("2025-03-12", 1, 70.0)]  # fmt: skip
        assert buckets(client_a, day_basis="profile") == buckets(client_a)

    def test_weeks_and_months_follow_the_readings_own_dates(self, client_a, user_a):
        set_timezone(user_a, "America/New_York")
        items = [
            {"metric_type": "heart_rate", "value": 60, "recorded_at": "2025-04-01T06:00:00+09:00"},
            {"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-03-31T20:00:00-04:00"},
        ]
        client_a.post(BASE + "bulk/", {"metrics": items}, format="json")

        response = client_a.get(
            BASE + "summary/",
            {
                "metric_type": "heart_rate",
                "period": "monthly",
                "start_date": "2025-03-01",
                "end_date": "2025-04-30",
                "day_basis": "recorded",
            },
        ).json()

        assert [(b["period_start"], b["count"]) for b in response["buckets"]] == [("2025-03-01", 1), ("2025-04-01", 1)]
        assert response["day_basis"] == "recorded"

    def test_an_unknown_basis_is_refused(self, client_a):
        response = client_a.get(BASE + "summary/", {"metric_type": "heart_rate", "day_basis": "local"})

        assert response.status_code == 400
        assert "day_basis" in response.json()["error"]["fields"]
