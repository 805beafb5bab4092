"""`doses/?date=`: a day's doses derived from regimens in the person's timezone, across DST changes."""

import pytest
from freezegun import freeze_time

from tests.medications.conftest import URL, create_regimen, set_timezone


def doses(client, day: str, **params) -> list[dict]:
    r = client.get(f"{URL}doses/", {"date": day, "limit": 200, **params})
    assert r.status_code == 200, r.content
    return r.json()["results"]


def times(client, day: str) -> list[str]:
    return [d["scheduled_for"] for d in doses(client, day)]


@pytest.fixture
def new_yorker(user_a):
    set_timezone(user_a, "America/New_York")
    return user_a


@pytest.mark.django_db
class TestAcrossDst:
    def test_an_8am_dose_stays_8am_local_when_the_clocks_go_forward(self, api, new_yorker):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(new_yorker), start_date="2025-03-01")
        with freeze_time("2025-03-12 12:00:00"):
            client = api(new_yorker)
            assert times(client, "2025-03-08") == ["2025-03-08T08:00:00-05:00"]
            assert times(client, "2025-03-09") == ["2025-03-09T08:00:00-04:00"]
            assert times(client, "2025-03-10") == ["2025-03-10T08:00:00-04:00"]

    def test_an_8am_dose_stays_8am_local_when_the_clocks_go_back(self, api, new_yorker):
        with freeze_time("2025-10-25 00:00:00"):
            create_regimen(api(new_yorker), start_date="2025-10-25", frequency="twice_daily")
        with freeze_time("2025-11-05 12:00:00"):
            client = api(new_yorker)
            assert times(client, "2025-11-01") == ["2025-11-01T08:00:00-04:00", "2025-11-01T20:00:00-04:00"]
            assert times(client, "2025-11-02") == ["2025-11-02T08:00:00-05:00", "2025-11-02T20:00:00-05:00"]

    def test_a_time_skipped_by_the_change_is_taken_just_after_the_gap(self, api, new_yorker):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(new_yorker), start_date="2025-03-01", schedule_times=["02:30"])
        with freeze_time("2025-03-12 12:00:00"):
            assert times(api(new_yorker), "2025-03-09") == ["2025-03-09T03:30:00-04:00"]

    def test_a_time_that_happens_twice_is_one_dose(self, api, new_yorker):
        with freeze_time("2025-10-25 00:00:00"):
            create_regimen(api(new_yorker), start_date="2025-10-25", schedule_times=["01:30"])
        with freeze_time("2025-11-05 12:00:00"):
            assert times(api(new_yorker), "2025-11-02") == ["2025-11-02T01:30:00-04:00"]

    def test_london_changes_on_its_own_date(self, api, user_a):
        set_timezone(user_a, "Europe/London")
        with freeze_time("2025-03-20 00:00:00"):
            create_regimen(api(user_a), start_date="2025-03-20")
        with freeze_time("2025-04-05 12:00:00"):
            client = api(user_a)
            assert times(client, "2025-03-29") == ["2025-03-29T08:00:00+00:00"]
            assert times(client, "2025-03-30") == ["2025-03-30T08:00:00+01:00"]


@pytest.mark.django_db
class TestTimezones:
    def test_the_date_is_the_persons_local_date(self, api, user_a):
        set_timezone(user_a, "Pacific/Auckland")
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(user_a), start_date="2025-03-01")
        with freeze_time("2025-03-12 12:00:00"):
            # 08:00 on 8 March in Auckland (UTC+13) is 19:00 UTC on 7 March.
            assert times(api(user_a), "2025-03-08") == ["2025-03-08T08:00:00+13:00"]

    def test_half_hour_offsets(self, api, user_a):
        set_timezone(user_a, "Asia/Kolkata")
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(user_a), start_date="2025-03-01", frequency="twice_daily")
        with freeze_time("2025-03-12 12:00:00"):
            assert times(api(user_a), "2025-03-08") == ["2025-03-08T08:00:00+05:30", "2025-03-08T20:00:00+05:30"]

    def test_without_a_date_it_is_today_in_the_persons_timezone(self, api, new_yorker):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(new_yorker), start_date="2025-03-01")
        with freeze_time("2025-03-08 03:00:00"):  # still 7 March in New York
            r = api(new_yorker).get(f"{URL}doses/")
        assert [d["scheduled_for"] for d in r.json()["results"]] == ["2025-03-07T08:00:00-05:00"]

    def test_a_person_who_moves_keeps_8am_in_the_new_timezone(self, api, new_yorker):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(new_yorker), start_date="2025-03-01")
        set_timezone(new_yorker, "Asia/Tokyo")
        with freeze_time("2025-03-12 12:00:00"):
            assert times(api(new_yorker), "2025-03-11") == ["2025-03-11T08:00:00+09:00"]


@pytest.mark.django_db
class TestWhichDoses:
    def test_weekly_only_on_its_days(self, api, user_a):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(user_a), frequency="weekly", days_of_week=[0, 3], start_date="2025-03-01")
        with freeze_time("2025-03-20 00:00:00"):
            client = api(user_a)
            assert len(times(client, "2025-03-10")) == 1  # Monday
            assert times(client, "2025-03-11") == []  # Tuesday
            assert len(times(client, "2025-03-13")) == 1  # Thursday

    def test_every_n_hours_around_the_clock(self, api, user_a):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(user_a), frequency="every_n_hours", interval_hours=6, schedule_times=["00:00"])
        with freeze_time("2025-03-20 00:00:00"):
            assert [t[11:16] for t in times(api(user_a), "2025-03-10")] == ["00:00", "06:00", "12:00", "18:00"]

    def test_nothing_before_the_start_or_after_the_end(self, api, user_a):
        with freeze_time("2025-03-01 00:00:00"):
            create_regimen(api(user_a), start_date="2025-03-05", end_date="2025-03-07")
        with freeze_time("2025-03-20 00:00:00"):
            client = api(user_a)
            counts = [len(times(client, f"2025-03-0{d}")) for d in range(4, 9)]
        assert counts == [0, 1, 1, 1, 0]

    def test_as_needed_is_listed_only_when_taken(self, api, user_a):
        with freeze_time("2025-03-05 09:00:00"):
            client = api(user_a)
            data = create_regimen(client, frequency="as_needed", name="Paracetamol")
            assert times(client, "2025-03-05") == []
            client.post(f"{URL}{data['id']}/log/", {"scheduled_for": "2025-03-05T08:30:00Z", "status": "taken"})
            [dose] = doses(client, "2025-03-05")
        assert dose["as_needed"] is True and dose["status"] == "taken" and dose["medication_name"] == "Paracetamol"


@pytest.mark.django_db
class TestStatuses:
    def test_pending_then_missed_after_the_grace_window(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            create_regimen(api(user_a), frequency="twice_daily")
        with freeze_time("2025-03-05 09:59:00"):
            assert [d["status"] for d in doses(api(user_a), "2025-03-05")] == ["pending", "pending"]
        with freeze_time("2025-03-05 10:00:00"):
            assert [d["status"] for d in doses(api(user_a), "2025-03-05")] == ["missed", "pending"]

    def test_a_logged_dose_shows_its_status_and_time(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            data = create_regimen(api(user_a), frequency="twice_daily", dosage=10)
        with freeze_time("2025-03-05 08:05:00"):
            client = api(user_a)
            client.post(f"{URL}{data['id']}/log/", {"scheduled_for": "2025-03-05T08:00:00+00:00", "status": "taken"})
            first, second = doses(client, "2025-03-05")
        assert first["status"] == "taken" and first["taken_at"] == "2025-03-05T08:00:00+00:00"
        assert first["log"] and first["regimen"] == data["id"] and first["dosage"] == 10
        assert second["status"] == "pending" and second["taken_at"] is None and second["log"] is None


@pytest.mark.django_db
class TestRequests:
    def test_a_bad_date_is_a_validation_error(self, client_a):
        r = client_a.get(f"{URL}doses/?date=2025-02-30")
        assert r.status_code == 400 and "date" in r.json()["error"]["fields"]

    def test_anonymous_gets_401(self, anon):
        assert anon.get(f"{URL}doses/").status_code == 401

    def test_another_persons_doses_are_not_mine(self, api, user_a, user_b):
        with freeze_time("2025-03-05 00:00:00"):
            create_regimen(api(user_b))
            assert times(api(user_a), "2025-03-05") == []

    def test_query_count_does_not_grow_with_regimens(self, api, user_a, django_assert_max_num_queries):
        with freeze_time("2025-03-01 00:00:00"):
            client = api(user_a)
            for name in ("a", "b", "c", "d", "e"):
                create_regimen(client, name=name, frequency="four_times_daily")
        with freeze_time("2025-03-05 12:00:00"):
            client = api(user_a)
            with django_assert_max_num_queries(5):
                assert len(doses(client, "2025-03-05")) == 20
