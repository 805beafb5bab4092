"""Deleting a doctor's account keeps their patients' appointments: `provider` becomes null, the provider's name
stays, upcoming ones are cancelled (and the patient told), and every read of them still answers."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from icalendar import Calendar

from appointments import reminders
from appointments.choices import AppointmentStatus, AppointmentType
from appointments.models import Appointment
from appointments.services import PROVIDER_GONE_REASON
from notifications.models import Notification
from tests.accounts.factories import PASSWORD
from tests.accounts.test_erasure import rows_referencing

from .conftest import MONDAY, NOW, TUESDAY, URL, berlin
from .factories import AppointmentFactory

pytestmark = pytest.mark.django_db

NAME = "Dr Ada Lovelace"


@pytest.fixture
def named_provider(provider):
    provider.doctor.first_name, provider.doctor.last_name = "Dr Ada", "Lovelace"
    provider.doctor.save(update_fields=["first_name", "last_name"])
    return provider


@pytest.fixture
def history(user_a, named_provider):
    """A completed visit last week, one under way now, and two to come (one by video)."""
    doctor = named_provider.doctor
    return {
        "past": AppointmentFactory(
            patient=user_a, provider=doctor, start_time=berlin(MONDAY, 7) - timedelta(days=7), status="completed"
        ),
        "now": AppointmentFactory(
            patient=user_a, provider=doctor, start_time=NOW - timedelta(minutes=10), status="confirmed"
        ),
        "soon": AppointmentFactory(patient=user_a, provider=doctor, start_time=berlin(TUESDAY, 10)),
        "video": AppointmentFactory(
            patient=user_a,
            provider=doctor,
            start_time=berlin(TUESDAY, 11),
            appointment_type=AppointmentType.TELEMEDICINE,
            meeting_url="https://meet.jit.si/jeghealth-gone",
        ),
    }


@pytest.fixture
def deleted(api, named_provider, history, django_capture_on_commit_callbacks):
    """The doctor erases their account through the API; answers the appointments, reloaded."""
    doctor = named_provider.doctor
    with django_capture_on_commit_callbacks(execute=True):
        r = api(doctor).delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")
    assert r.status_code == 204, r.content
    assert not get_user_model().objects.filter(pk=doctor.pk).exists()
    return {key: Appointment.objects.get(pk=row.pk) for key, row in history.items()}


def provider_less(patient, start, **fields) -> Appointment:
    """An active appointment whose provider is already gone, as a deletion in progress or a restore leaves one."""
    return AppointmentFactory(patient=patient, provider=None, provider_name=NAME, start_time=start, **fields)


class TestTheDeletion:
    def test_the_appointments_stay_with_the_patient_and_the_providers_name(self, deleted, user_a):
        assert {row.patient_id for row in deleted.values()} == {user_a.pk}
        assert {row.provider_id for row in deleted.values()} == {None}
        assert {row.provider_name for row in deleted.values()} == {NAME}

    def test_upcoming_ones_are_cancelled_and_past_ones_keep_their_status(self, deleted):
        assert deleted["past"].status == AppointmentStatus.COMPLETED
        assert deleted["now"].status == AppointmentStatus.CONFIRMED
        for key in ("soon", "video"):
            row = deleted[key]
            assert (row.status, row.cancelled_at, row.cancelled_by_id) == ("cancelled", NOW, None)
            assert row.cancellation_reason == PROVIDER_GONE_REASON

    def test_the_patient_is_told_of_each_cancellation(self, deleted, user_a):
        notices = Notification.objects.filter(recipient=user_a, title="Appointment cancelled")

        assert sorted(n.data["appointment_id"] for n in notices) == sorted(
            str(deleted[key].pk) for key in ("soon", "video")
        )
        assert all(NAME in n.body for n in notices)

    def test_nothing_names_the_doctor_by_id_any_more(self, api, named_provider, history):
        doctor_id = named_provider.doctor.pk
        api(named_provider.doctor).delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")

        assert rows_referencing(doctor_id) == {}

    def test_a_deletion_outside_the_api_does_the_same(self, named_provider, history):
        named_provider.doctor.delete()

        soon = Appointment.objects.get(pk=history["soon"].pk)
        assert (soon.provider_id, soon.provider_name, soon.status) == (None, NAME, "cancelled")

    def test_the_name_is_kept_from_the_booking_too(self, book):
        r = book(berlin(TUESDAY, 10))

        assert Appointment.objects.get(pk=r.json()["id"]).provider_name == r.json()["provider_name"]


class TestReadsAfterwards:
    def test_the_list_answers_with_a_null_provider_and_the_name(self, client_a, deleted):
        r = client_a.get(URL, {"limit": 50})

        assert r.status_code == 200
        rows = r.json()["results"]
        assert len(rows) == 4
        assert {(row["provider"], row["provider_name"], row["provider_timezone"]) for row in rows} == {
            (None, NAME, "UTC")
        }

    def test_the_detail_answers(self, client_a, deleted):
        r = client_a.get(f"{URL}{deleted['now'].pk}/")

        assert r.status_code == 200
        assert (r.json()["provider"], r.json()["provider_name"], r.json()["location"]) == (None, NAME, "")

    def test_the_statistics_count_them(self, client_a, deleted):
        r = client_a.get(f"{URL}statistics/")

        assert r.status_code == 200
        assert r.json()["total"] == 4 and r.json()["by_status"]["cancelled"] == 2

    def test_the_calendar_feed_shows_the_one_under_way(self, client_a, anon, deleted):
        url = client_a.get(f"{URL}calendar/").json()["url"]

        feed = anon.get("/" + url.split("/", 3)[3])

        assert feed.status_code == 200
        (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
        assert str(event["summary"]) == f"Appointment with {NAME}"

    def test_the_patient_can_still_cancel_one(self, client_a, user_a):
        left = provider_less(user_a, berlin(TUESDAY, 10))

        r = client_a.post(f"{URL}{left.pk}/cancel/")

        assert r.status_code == 200 and r.json()["status"] == "cancelled"

    def test_rescheduling_one_is_refused_in_the_envelope(self, client_a, user_a):
        left = provider_less(user_a, berlin(TUESDAY, 10))

        r = client_a.post(f"{URL}{left.pk}/reschedule/", {"start_time": berlin(TUESDAY, 12).isoformat()})

        assert r.status_code == 400 and "start_time" in r.json()["error"]["fields"]

    def test_a_due_reminder_names_the_provider_it_had(self, user_a, frozen):
        left = provider_less(user_a, NOW + timedelta(minutes=30), slot_booked_at=NOW - timedelta(days=3))

        assert reminders.reminders_send_due(now=timezone.now()) == 1

        reminder = Notification.objects.get(recipient=user_a, title="Appointment reminder")
        assert reminder.data["appointment_id"] == str(left.pk) and NAME in reminder.body


class TestOnTheRealClock:
    """orjson (export, dashboard cache) refuses freezegun's datetime subclass."""

    @pytest.fixture(autouse=True)
    def real_clock(self, package_clock):
        with package_clock.paused():
            yield

    def test_the_patients_export_holds_them_with_the_name(self, client_a, user_a):
        provider_less(user_a, timezone.now() + timedelta(days=2))

        r = client_a.get("/api/v1/auth/export/")

        (row,) = orjson.loads(b"".join(r.streaming_content))["appointments"]
        assert row["provider"] == {"id": None, "name": NAME}

    def test_the_dashboard_lists_an_upcoming_one(self, client_a, user_a):
        provider_less(user_a, timezone.now() + timedelta(days=2))

        r = client_a.get("/api/v1/dashboard/")

        assert r.status_code == 200
        (row,) = r.json()["appointments"]["upcoming"]
        assert row["provider"] == {"id": None, "name": NAME, "specialty": "", "clinic_name": ""}
