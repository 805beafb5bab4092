"""`adherence/` and `statistics/` on known histories: what counts, the arithmetic, streaks and missed times."""

import pytest
from freezegun import freeze_time

from tests.medications.conftest import URL, create_regimen, set_timezone


def log(client, regimen, when: str, status: str = "taken"):
    r = client.post(f"{URL}{regimen['id']}/log/", {"scheduled_for": when, "status": status}, format="json")
    assert r.status_code in (200, 201), r.content


def adherence(client, **params):
    r = client.get(f"{URL}adherence/", params)
    assert r.status_code == 200, r.content
    return r.json()


def statistics(client, **params):
    r = client.get(f"{URL}statistics/", params)
    assert r.status_code == 200, r.content
    return r.json()


@pytest.fixture
def history(api, user_a):
    """1-4 March: a twice-daily regimen (8 doses: 6 taken, 1 skipped, 1 never logged), a once-daily one (4 doses:
    2 taken, 1 skipped, 1 never logged), and an as-needed one taken three times, which never counts."""
    with freeze_time("2025-03-01 00:00:00"):
        client = api(user_a)
        twice = create_regimen(client, name="Metformin", frequency="twice_daily")
        once = create_regimen(client, name="Amlodipine", schedule_times=["09:00"])
        prn = create_regimen(client, name="Paracetamol", frequency="as_needed")
    with freeze_time("2025-03-05 12:00:00"):
        client = api(user_a)
        for day in ("01", "02", "03", "04"):
            log(client, twice, f"2025-03-{day}T08:00:00Z")
        log(client, twice, "2025-03-01T20:00:00Z")
        log(client, twice, "2025-03-02T20:00:00Z", "skipped")
        log(client, twice, "2025-03-04T20:00:00Z")
        log(client, once, "2025-03-01T09:00:00Z")
        log(client, once, "2025-03-02T09:00:00Z", "skipped")
        log(client, once, "2025-03-04T09:00:00Z")
        for hour in ("10", "14", "18"):
            log(client, prn, f"2025-03-02T{hour}:00:00Z")
    return {"twice": twice, "once": once, "prn": prn}


@pytest.mark.django_db
class TestAdherence:
    def test_counts_taken_over_scheduled_per_regimen_and_overall(self, api, user_a, history):
        with freeze_time("2025-03-05 12:00:00"):
            body = adherence(api(user_a), start_date="2025-03-01", end_date="2025-03-04")
        assert body["overall"] == {"scheduled": 12, "taken": 8, "percent": 66.7}
        assert body["regimens"] == [
            {
                "regimen": history["once"]["id"],
                "medication_name": "Amlodipine",
                "scheduled": 4,
                "taken": 2,
                "percent": 50.0,
            },
            {
                "regimen": history["twice"]["id"],
                "medication_name": "Metformin",
                "scheduled": 8,
                "taken": 6,
                "percent": 75.0,
            },
        ]

    def test_a_narrower_range_counts_only_its_days(self, api, user_a, history):
        with freeze_time("2025-03-05 12:00:00"):
            body = adherence(api(user_a), start_date="2025-03-04", end_date="2025-03-04")
        assert body["overall"] == {"scheduled": 3, "taken": 3, "percent": 100.0}

    def test_doses_not_due_yet_or_still_in_their_grace_window_do_not_count(self, api, user_a, history):
        with freeze_time("2025-03-05 08:30:00"):
            client = api(user_a)
            assert adherence(client, start_date="2025-03-05", end_date="2025-03-05")["overall"]["scheduled"] == 0
            log(client, history["twice"], "2025-03-05T08:00:00Z")
            assert adherence(client, start_date="2025-03-05", end_date="2025-03-05")["overall"] == {
                "scheduled": 1,
                "taken": 1,
                "percent": 100.0,
            }
        with freeze_time("2025-03-05 11:00:01"):  # the 09:00 dose is now past its two-hour grace window
            body = adherence(api(user_a), start_date="2025-03-05", end_date="2025-03-05")
        assert body["overall"] == {"scheduled": 2, "taken": 1, "percent": 50.0}

    def test_the_range_is_the_persons_local_days(self, api, user_a):
        set_timezone(user_a, "America/New_York")
        with freeze_time("2025-03-03 00:00:00"):
            regimen = create_regimen(api(user_a), schedule_times=["20:00"])
        with freeze_time("2025-03-06 12:00:00"):
            client = api(user_a)
            log(client, regimen, "2025-03-04T20:00:00-05:00")  # 01:00 UTC on 5 March
            body = adherence(client, start_date="2025-03-04", end_date="2025-03-04")
        assert body["overall"] == {"scheduled": 1, "taken": 1, "percent": 100.0}

    def test_defaults_to_the_last_30_days(self, api, user_a, history):
        with freeze_time("2025-03-05 12:00:00"):
            body = adherence(api(user_a))
        assert body["start_date"] == "2025-02-04" and body["end_date"] == "2025-03-05"
        assert body["overall"]["scheduled"] == 12 + 2  # and today's 08:00 and 09:00, past their grace window

    def test_nothing_scheduled_answers_a_null_percent(self, client_a):
        body = adherence(client_a)
        assert body["overall"] == {"scheduled": 0, "taken": 0, "percent": None} and body["regimens"] == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"start_date": "2025-03-05", "end_date": "2025-03-01"}, "end_date"),
            ({"start_date": "2023-01-01", "end_date": "2025-03-01"}, "end_date"),
            ({"start_date": "yesterday"}, "start_date"),
        ],
    )
    def test_bad_ranges_are_validation_errors(self, client_a, params, field):
        r = client_a.get(f"{URL}adherence/", params)
        assert r.status_code == 400 and field in r.json()["error"]["fields"]

    def test_anonymous_gets_401(self, anon):
        assert anon.get(f"{URL}adherence/").status_code == 401


@pytest.mark.django_db
class TestStatistics:
    def test_counts_and_percent(self, api, user_a, history):
        with freeze_time("2025-03-05 12:00:00"):
            body = statistics(api(user_a), start_date="2025-03-01", end_date="2025-03-04")
        assert body["counts"] == {
            "scheduled": 12,
            "taken": 8,
            "skipped": 2,
            "missed": 2,
            "pending": 0,
            "as_needed_taken": 3,
        }
        assert body["percent"] == 66.7
        assert body["most_missed_times"] == [{"time": "09:00", "missed": 1}, {"time": "20:00", "missed": 1}]
        assert body["fully_adherent_days"] == 2 and body["days_with_doses"] == 4  # 1 and 4 March

    def test_streaks_of_fully_adherent_days(self, api, user_a):
        with freeze_time("2025-03-01 00:00:00"):
            regimen = create_regimen(api(user_a))
        taken_days = [1, 2, 3, 5, 6, 8, 9]  # 4 and 7 March missed
        with freeze_time("2025-03-10 07:00:00"):  # today's dose is not due yet: today neither counts nor breaks
            client = api(user_a)
            for day in taken_days:
                log(client, regimen, f"2025-03-{day:02d}T08:00:00Z")
            body = statistics(client, start_date="2025-03-01", end_date="2025-03-10")
        assert body["current_streak_days"] == 2 and body["longest_streak_days"] == 3
        assert body["counts"]["pending"] == 1
        assert body["most_missed_times"] == [{"time": "08:00", "missed": 2}]

    def test_days_without_a_dose_do_not_break_a_streak(self, api, user_a):
        with freeze_time("2025-03-01 00:00:00"):
            regimen = create_regimen(api(user_a), frequency="weekly", days_of_week=[0])
        with freeze_time("2025-03-20 00:00:00"):
            client = api(user_a)
            for monday in ("03", "10", "17"):
                log(client, regimen, f"2025-03-{monday}T08:00:00Z")
            body = statistics(client, start_date="2025-03-01", end_date="2025-03-19")
        assert body["current_streak_days"] == 3 and body["longest_streak_days"] == 3

    def test_most_missed_times_are_ranked(self, api, user_a):
        with freeze_time("2025-03-01 00:00:00"):
            regimen = create_regimen(api(user_a), frequency="twice_daily")
        with freeze_time("2025-03-04 12:00:00"):
            client = api(user_a)
            for day in ("01", "02", "03"):
                log(client, regimen, f"2025-03-{day}T08:00:00Z")
            log(client, regimen, "2025-03-04T08:00:00Z", "skipped")
            body = statistics(client, start_date="2025-03-01", end_date="2025-03-04")
        assert body["most_missed_times"] == [{"time": "20:00", "missed": 3}]
        assert body["counts"]["skipped"] == 1 and body["current_streak_days"] == 0
