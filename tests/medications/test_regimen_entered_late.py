"""A regimen entered after it started: its past doses are listed from the start date as pending until logged,
never become missed and count for adherence only once logged; a past dose logged as taken without `taken_at` was
taken at its scheduled time."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from medications import services
from medications.models import DoseLog
from tests.medications.conftest import URL, create_regimen, set_timezone

ENTERED = "2025-03-05 12:00:00"  # a Wednesday, 12:00 UTC
NEW_YORK = ZoneInfo("America/New_York")


def doses(client, day: str) -> list[dict]:
    r = client.get(f"{URL}doses/", {"date": day, "limit": 200})
    assert r.status_code == 200, r.content
    return r.json()["results"]


def states(client, day: str) -> list[tuple[str, str]]:
    return [(d["scheduled_for"], d["status"]) for d in doses(client, day)]


def log(client, regimen, when: str, status: str = "taken", **body):
    return client.post(f"{URL}{regimen['id']}/log/", {"scheduled_for": when, "status": status, **body}, format="json")


@pytest.fixture
def entered_late(api, user_a):
    """A twice-daily regimen started on 1 March, entered on 5 March at 12:00 UTC."""
    with freeze_time(ENTERED):
        return create_regimen(api(user_a), start_date="2025-03-01", frequency="twice_daily")


@pytest.mark.django_db
class TestListing:
    def test_doses_from_the_start_date_are_listed_as_pending(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            client = api(user_a)
            first_day = states(client, "2025-03-01")
            entry_day = states(client, "2025-03-05")

        assert first_day == [("2025-03-01T08:00:00+00:00", "pending"), ("2025-03-01T20:00:00+00:00", "pending")]
        assert entry_day == [("2025-03-05T08:00:00+00:00", "pending"), ("2025-03-05T20:00:00+00:00", "pending")]

    def test_they_stay_pending_while_later_doses_become_missed(self, api, entered_late, user_a):
        with freeze_time("2025-03-20 12:00:00"):
            client = api(user_a)
            before_entry = [status for _, status in states(client, "2025-03-02")]
            after_entry = [status for _, status in states(client, "2025-03-06")]

        assert before_entry == ["pending", "pending"]
        assert after_entry == ["missed", "missed"]

    def test_nothing_before_the_start_date(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            assert doses(api(user_a), "2025-02-28") == []

    def test_a_logged_one_shows_its_status(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            client = api(user_a)
            assert log(client, entered_late, "2025-03-02T20:00:00Z", "skipped").status_code == 201
            listed = states(client, "2025-03-02")

        assert listed == [("2025-03-02T08:00:00+00:00", "pending"), ("2025-03-02T20:00:00+00:00", "skipped")]


@pytest.mark.django_db
class TestAdherence:
    def test_entering_a_regimen_creates_no_run_of_missed_doses(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            r = api(user_a).get(f"{URL}adherence/", {"start_date": "2025-03-01", "end_date": "2025-03-05"})

        assert r.json()["overall"] == {"scheduled": 0, "taken": 0, "percent": None}

    def test_they_count_once_logged(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            client = api(user_a)
            log(client, entered_late, "2025-03-01T08:00:00Z")
            log(client, entered_late, "2025-03-01T20:00:00Z")
            log(client, entered_late, "2025-03-02T08:00:00Z", "skipped")
            r = client.get(f"{URL}adherence/", {"start_date": "2025-03-01", "end_date": "2025-03-05"})

        assert r.json()["overall"] == {"scheduled": 3, "taken": 2, "percent": 66.7}

    def test_statistics_count_them_as_pending_not_missed(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            r = api(user_a).get(f"{URL}statistics/", {"start_date": "2025-03-01", "end_date": "2025-03-05"})

        counts = r.json()["counts"]
        assert (counts["missed"], counts["pending"], counts["scheduled"]) == (0, 10, 0)


@pytest.mark.django_db
class TestMissedDoses:
    def test_the_missed_dose_task_records_only_doses_after_the_entry(self, entered_late):
        services.doses_mark_missed(now=datetime(2025, 3, 6, 12, tzinfo=UTC))

        missed = sorted(DoseLog.objects.filter(status="missed").values_list("scheduled_for", flat=True))
        assert missed == [datetime(2025, 3, 5, 20, tzinfo=UTC), datetime(2025, 3, 6, 8, tzinfo=UTC)]

    def test_a_schedule_change_records_no_dose_before_the_entry_as_missed(self, api, entered_late, user_a):
        with freeze_time("2025-03-06 12:00:00"):
            r = api(user_a).patch(f"{URL}{entered_late['id']}/", {"frequency": "once_daily"}, format="json")

        assert r.status_code == 200
        missed = sorted(DoseLog.objects.filter(status="missed").values_list("scheduled_for", flat=True))
        assert missed == [datetime(2025, 3, 5, 20, tzinfo=UTC), datetime(2025, 3, 6, 8, tzinfo=UTC)]


@pytest.mark.django_db
class TestStartDateMovedEarlier:
    def test_the_doses_back_to_the_new_start_are_listed_as_pending(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), start_date="2025-03-05")
        with freeze_time(ENTERED):
            client = api(user_a)
            r = client.patch(f"{URL}{regimen['id']}/", {"start_date": "2025-03-03"}, format="json")
            listed = states(client, "2025-03-03")

        assert r.status_code == 200
        assert listed == [("2025-03-03T08:00:00+00:00", "pending")]


@pytest.mark.django_db
class TestTakenAt:
    def test_a_past_dose_logged_without_taken_at_was_taken_at_its_time(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            r = log(api(user_a), entered_late, "2025-03-02T08:00:00Z")

        assert r.status_code == 201
        assert r.json()["taken_at"] == "2025-03-02T08:00:00+00:00"
        assert DoseLog.objects.get().taken_at == datetime(2025, 3, 2, 8, tzinfo=UTC)

    def test_a_dose_logged_ahead_of_its_time_was_taken_now(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            r = log(api(user_a), entered_late, "2025-03-05T20:00:00Z")

        assert r.json()["taken_at"] == "2025-03-05T12:00:00+00:00"

    def test_a_given_taken_at_is_kept(self, api, entered_late, user_a):
        with freeze_time(ENTERED):
            r = log(api(user_a), entered_late, "2025-03-02T08:00:00Z", taken_at="2025-03-02T09:15:00Z")

        assert r.json()["taken_at"] == "2025-03-02T09:15:00+00:00"


@pytest.mark.django_db
class TestAcrossDst:
    """New York moved its clocks forward on Sunday 9 March 2025: 08:00 local is 13:00 UTC before, 12:00 after."""

    @pytest.fixture
    def new_yorker_entered_late(self, api, user_a):
        set_timezone(user_a, "America/New_York")
        with freeze_time("2025-03-12 15:00:00"):
            return create_regimen(api(user_a), start_date="2025-03-07")

    def test_the_past_doses_keep_8am_local_on_both_sides(self, api, user_a, new_yorker_entered_late):
        with freeze_time("2025-03-12 15:00:00"):
            client = api(user_a)
            listed = [states(client, day) for day in ("2025-03-08", "2025-03-09", "2025-03-10")]

        assert listed == [
            [("2025-03-08T08:00:00-05:00", "pending")],
            [("2025-03-09T08:00:00-04:00", "pending")],
            [("2025-03-10T08:00:00-04:00", "pending")],
        ]

    def test_the_dose_of_the_change_day_logged_later_was_taken_at_8am_local(self, api, user_a, new_yorker_entered_late):
        with freeze_time("2025-03-12 15:00:00"):
            client = api(user_a)
            r = log(client, new_yorker_entered_late, "2025-03-09T08:00:00-04:00")
            (dose,) = doses(client, "2025-03-09")

        assert r.status_code == 201
        taken_at = datetime.fromisoformat(dose["taken_at"])
        assert taken_at == datetime(2025, 3, 9, 12, tzinfo=UTC)
        assert taken_at.astimezone(NEW_YORK).strftime("%H:%M %Z") == "08:00 EDT"
        assert dose["status"] == "taken"
