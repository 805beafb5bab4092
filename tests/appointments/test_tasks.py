"""Reminders: due ones are found in the database by the beat task and each is sent exactly once."""

from datetime import UTC, timedelta

import pytest
from django.conf import settings

from appointments.choices import AppointmentStatus
from appointments.models import AppointmentReminder
from appointments.tasks import send_due_reminders
from notifications.models import Notification
from tests.conftest import client_for

from .conftest import NEXT_MONDAY, TUESDAY, URL, berlin
from .factories import AppointmentFactory

START = berlin(TUESDAY, 10)  # 09:00 UTC


@pytest.fixture
def appointment(user_a, provider):
    """Booked a week ago for Tuesday 10:00 Berlin."""
    return AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=START)


def reminders_of(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, title="Appointment reminder").order_by("created_at"))


@pytest.mark.django_db
class TestReminders:
    def test_nothing_is_due_before_24_hours(self, appointment, user_a, frozen):
        frozen.move_to(START - timedelta(hours=24, minutes=1))

        assert send_due_reminders.delay().get() == 0
        assert reminders_of(user_a) == []

    def test_24_hours_before_the_patient_is_reminded_once_however_often_the_task_runs(
        self, appointment, user_a, frozen
    ):
        frozen.move_to(START - timedelta(hours=24))

        send_due_reminders.delay()
        send_due_reminders.delay()
        frozen.tick(timedelta(minutes=1))
        send_due_reminders.delay()

        (reminder,) = reminders_of(user_a)
        assert reminder.category == "appointment_reminder"
        assert reminder.data["appointment_id"] == str(appointment.pk) and reminder.data["offset_hours"] == 24
        assert "Tue 25 Mar 2025, 09:00 (UTC)" in reminder.body  # user_a's own clock: UTC
        assert "Follow-up" not in reminder.body
        claims = AppointmentReminder.objects.filter(appointment=appointment)
        assert [(c.offset_hours, c.start_time) for c in claims] == [(24, START)]

    def test_one_hour_before_the_second_reminder_goes_once(self, appointment, user_a, frozen):
        frozen.move_to(START - timedelta(hours=24))
        send_due_reminders.delay()
        frozen.move_to(START - timedelta(hours=1))

        send_due_reminders.delay()
        send_due_reminders.delay()

        assert [r.data["offset_hours"] for r in reminders_of(user_a)] == [24, 1]

    def test_a_beat_that_was_down_sends_only_the_reminder_that_still_makes_sense(self, appointment, user_a, frozen):
        frozen.move_to(START - timedelta(minutes=30))

        send_due_reminders.delay()

        assert [r.data["offset_hours"] for r in reminders_of(user_a)] == [1]

    @pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED])
    def test_not_for_appointments_no_longer_active(self, user_a, provider, frozen, status):
        AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=START, status=status)
        frozen.move_to(START - timedelta(hours=1))

        send_due_reminders.delay()

        assert reminders_of(user_a) == []
        assert not AppointmentReminder.objects.exists()

    def test_a_booking_made_at_short_notice_skips_the_24_hour_reminder(self, book, user_a, frozen):
        frozen.move_to(START - timedelta(hours=3))
        # A fresh token: the fixture's was issued at the frozen start of the test.
        assert book(START, client=client_for(user_a)).status_code == 201
        send_due_reminders.delay()
        frozen.move_to(START - timedelta(hours=1))
        send_due_reminders.delay()

        assert [r.data["offset_hours"] for r in reminders_of(user_a)] == [1]

    def test_a_rescheduled_appointment_is_reminded_of_its_new_time(self, appointment, api, user_a, frozen):
        frozen.move_to(START - timedelta(hours=24))
        send_due_reminders.delay()
        new_start = berlin(NEXT_MONDAY, 10)
        r = api(user_a).post(f"{URL}{appointment.pk}/reschedule/", {"start_time": new_start.isoformat()}, format="json")
        assert r.status_code == 200

        frozen.move_to(new_start - timedelta(hours=24))
        send_due_reminders.delay()

        reminders = reminders_of(user_a)
        assert [r.data["start_time"] for r in reminders] == [
            START.astimezone(UTC).isoformat(),
            new_start.astimezone(UTC).isoformat(),
        ]

    def test_offsets_come_from_settings(self, appointment, user_a, frozen, settings):
        settings.APPOINTMENT_REMINDER_OFFSETS_HOURS = [48]
        frozen.move_to(START - timedelta(hours=48))

        send_due_reminders.delay()
        frozen.move_to(START - timedelta(hours=1))
        send_due_reminders.delay()

        assert [r.data["offset_hours"] for r in reminders_of(user_a)] == [48]


def test_the_beat_runs_the_reminders_every_minute():
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "appointments.send_due_reminders"]

    assert entry["schedule"] == timedelta(minutes=1)
    assert send_due_reminders.name == "appointments.send_due_reminders"
