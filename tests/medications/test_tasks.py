"""The periodic work: doses left unlogged are recorded as missed, and each dose is reminded exactly once."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from freezegun import freeze_time

from jeghealth_backend.celery import app
from medications import tasks
from medications.models import DoseLog, Regimen
from notifications.models import Notification
from tests.medications.conftest import URL, create_regimen, set_timezone


def at(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def dose_reminders(user):
    return Notification.objects.filter(recipient=user, category="medication_reminder", data__type="dose")


@pytest.fixture
def twice_daily(api, user_a):
    with freeze_time("2025-03-05 06:00:00"):
        return create_regimen(api(user_a), frequency="twice_daily")


def test_tasks_are_registered_and_scheduled():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name in ("medications.send_dose_reminders", "medications.mark_missed_doses"):
        assert name in app.tasks and name in schedule


@pytest.mark.django_db
class TestMarkMissed:
    def test_records_unlogged_doses_past_the_grace_window(self, twice_daily):
        with freeze_time("2025-03-06 00:00:00"):
            tasks.mark_missed_doses.delay()
        rows = DoseLog.objects.order_by("scheduled_for")
        assert [(r.scheduled_for, r.status, r.taken_at) for r in rows] == [
            (at(8), "missed", None),
            (at(20), "missed", None),
        ]
        assert all(r.regimen_id.hex == twice_daily["id"].replace("-", "") and r.scheduled for r in rows)

    def test_running_twice_gives_the_same_rows(self, twice_daily):
        with freeze_time("2025-03-06 00:00:00"):
            tasks.mark_missed_doses.delay()
            first = sorted(DoseLog.objects.values_list("id", "scheduled_for", "status"))
            tasks.mark_missed_doses.delay()
        assert sorted(DoseLog.objects.values_list("id", "scheduled_for", "status")) == first
        assert len(first) == 2

    def test_leaves_doses_inside_the_grace_window(self, twice_daily):
        with freeze_time("2025-03-05 09:59:00"):
            tasks.mark_missed_doses.delay()
        assert not DoseLog.objects.exists()

    def test_the_grace_window_is_a_setting(self, twice_daily, settings):
        settings.MEDICATION_MISSED_GRACE_MINUTES = 30
        with freeze_time("2025-03-05 08:31:00"):
            tasks.mark_missed_doses.delay()
        assert DoseLog.objects.get().scheduled_for == at(8)

    def test_keeps_logged_doses_as_they_are(self, api, user_a, twice_daily):
        with freeze_time("2025-03-05 08:05:00"):
            api(user_a).post(f"{URL}{twice_daily['id']}/log/", {"scheduled_for": at(8).isoformat(), "status": "taken"})
        with freeze_time("2025-03-06 00:00:00"):
            tasks.mark_missed_doses.delay()
        assert dict(DoseLog.objects.values_list("scheduled_for", "status")) == {at(8): "taken", at(20): "missed"}

    def test_runs_later_in_the_day_pick_up_where_the_last_stopped(self, twice_daily):
        with freeze_time("2025-03-05 10:30:00"):
            tasks.mark_missed_doses.delay()
            assert DoseLog.objects.count() == 1
        with freeze_time("2025-03-05 23:00:00"):
            tasks.mark_missed_doses.delay()
        assert DoseLog.objects.filter(status="missed").count() == 2
        assert Regimen.objects.get(pk=twice_daily["id"]).missed_checked_through == at(21)

    def test_as_needed_is_never_missed(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            create_regimen(api(user_a), frequency="as_needed")
        with freeze_time("2025-03-08 00:00:00"):
            tasks.mark_missed_doses.delay()
        assert not DoseLog.objects.exists()

    def test_a_schedule_change_records_the_old_schedules_missed_doses(self, api, user_a, twice_daily):
        with freeze_time("2025-03-06 12:00:00"):
            client = api(user_a)
            r = client.patch(
                f"{URL}{twice_daily['id']}/", {"frequency": "once_daily", "schedule_times": ["09:00"]}, format="json"
            )
            assert r.status_code == 200
            assert sorted(DoseLog.objects.values_list("scheduled_for", flat=True)) == [
                at(8),
                at(20),
                at(8, day=6),
            ]
            day6 = client.get(f"{URL}doses/?date=2025-03-06").json()["results"]
            day7 = client.get(f"{URL}doses/?date=2025-03-07").json()["results"]
        assert [(d["scheduled_for"], d["status"]) for d in day6] == [("2025-03-06T08:00:00+00:00", "missed")]
        assert [d["scheduled_for"] for d in day7] == ["2025-03-07T09:00:00+00:00"]


@pytest.mark.django_db
class TestDoseReminders:
    def test_reminds_each_dose_once_even_when_the_task_runs_twice(self, twice_daily, user_a):
        with freeze_time("2025-03-05 08:00:20"):
            tasks.send_dose_reminders.delay()
            tasks.send_dose_reminders.delay()
        with freeze_time("2025-03-05 08:01:00"):
            tasks.send_dose_reminders.delay()
        [reminder] = dose_reminders(user_a)
        assert reminder.data == {
            "type": "dose",
            "regimen": twice_daily["id"],
            "scheduled_for": "2025-03-05T08:00:00+00:00",
        }
        assert "08:00" in reminder.body and "Lisinopril" not in reminder.title + reminder.body
        assert reminder.dedupe_key == f"medication_dose:{twice_daily['id']}:{at(8).isoformat()}"

    def test_a_run_that_finds_the_cursor_already_moved_sends_nothing_more(self, twice_daily, user_a):
        with freeze_time("2025-03-05 08:00:20"):
            tasks.send_dose_reminders.delay()
        Regimen.objects.filter(pk=twice_daily["id"]).update(next_reminder_at=at(8))  # a racing run's stale view
        with freeze_time("2025-03-05 08:00:40"):
            tasks.send_dose_reminders.delay()
        assert dose_reminders(user_a).count() == 1

    def test_reminds_the_next_dose_at_its_time(self, twice_daily, user_a):
        for moment in ("2025-03-05 08:00:00", "2025-03-05 14:00:00", "2025-03-05 20:00:30", "2025-03-05 20:01:00"):
            with freeze_time(moment):
                tasks.send_dose_reminders.delay()
        assert [n.data["scheduled_for"][11:16] for n in dose_reminders(user_a).order_by("created_at")] == [
            "08:00",
            "20:00",
        ]

    def test_nothing_before_the_dose_time(self, twice_daily, user_a):
        with freeze_time("2025-03-05 07:59:59"):
            tasks.send_dose_reminders.delay()
        assert not dose_reminders(user_a).exists()

    def test_a_dose_already_taken_is_not_reminded(self, api, user_a, twice_daily):
        with freeze_time("2025-03-05 07:55:00"):
            api(user_a).post(f"{URL}{twice_daily['id']}/log/", {"scheduled_for": at(8).isoformat(), "status": "taken"})
        with freeze_time("2025-03-05 08:00:10"):
            tasks.send_dose_reminders.delay()
        assert not dose_reminders(user_a).exists()

    def test_a_reminder_too_late_to_help_is_dropped(self, twice_daily, user_a):
        with freeze_time("2025-03-05 10:00:00"):  # workers were down at 08:00
            tasks.send_dose_reminders.delay()
        assert not dose_reminders(user_a).exists()
        assert Regimen.objects.get(pk=twice_daily["id"]).next_reminder_at == at(20)

    def test_uses_the_persons_local_time(self, api, user_b):
        set_timezone(user_b, "America/New_York")
        with freeze_time("2025-03-09 00:00:00"):
            create_regimen(api(user_b))
        with freeze_time("2025-03-09 12:00:00"):  # 08:00 in New York, the first day of daylight time
            tasks.send_dose_reminders.delay()
        [reminder] = dose_reminders(user_b)
        assert reminder.data["scheduled_for"] == "2025-03-09T08:00:00-04:00"

    def test_an_ended_regimen_is_not_reminded(self, api, user_a, twice_daily):
        with freeze_time("2025-03-05 07:00:00"):
            api(user_a).delete(f"{URL}{twice_daily['id']}/")
        with freeze_time("2025-03-05 08:00:10"):
            tasks.send_dose_reminders.delay()
        assert not dose_reminders(user_a).exists()

    def test_a_regimen_starting_next_month_is_reminded_on_its_first_day(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            data = create_regimen(api(user_a), start_date="2025-04-10")
        assert Regimen.objects.get(pk=data["id"]).next_reminder_at == datetime(2025, 4, 10, 8, tzinfo=UTC)
        with freeze_time("2025-04-10 08:00:05"):
            tasks.send_dose_reminders.delay()
        assert dose_reminders(user_a).count() == 1

    def test_as_needed_is_never_reminded(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            data = create_regimen(api(user_a), frequency="as_needed")
        assert Regimen.objects.get(pk=data["id"]).next_reminder_at is None
