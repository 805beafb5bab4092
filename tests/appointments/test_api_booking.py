"""POST appointments/: what is stored, the rules of the provider's calendar, and double booking (409)."""

from datetime import timedelta, timezone

import pytest

from appointments.choices import AppointmentStatus
from appointments.models import Appointment
from notifications.models import Notification

from .conftest import NEXT_MONDAY, SATURDAY, TUESDAY, URL, berlin, iso
from .factories import AppointmentFactory, ProviderProfileFactory


@pytest.mark.django_db
class TestBooking:
    def test_books_a_slot_and_stores_it_in_utc(self, book, user_a, provider):
        r = book(berlin(TUESDAY, 10), reason="Knee pain")

        assert r.status_code == 201, r.content
        body = r.json()
        assert body["status"] == "scheduled" and body["provider"] == str(provider.doctor_id)
        assert body["patient"] == str(user_a.pk) and body["duration_minutes"] == 30
        assert body["start_time"] == "2025-03-25T09:00:00Z" and body["end_time"] == "2025-03-25T09:30:00Z"
        assert body["location"] == "Praxis Mitte, Invalidenstraße 1, 10115 Berlin" and body["meeting_url"] == ""
        stored = Appointment.objects.get(pk=body["id"])
        assert (stored.patient, stored.provider) == (user_a, provider.doctor)
        assert stored.start_time == berlin(TUESDAY, 10) and stored.end_time == berlin(TUESDAY, 10, 30)
        assert stored.reason == "Knee pain" and stored.status == AppointmentStatus.SCHEDULED

    def test_duration_can_be_longer_than_a_consultation(self, book):
        r = book(berlin(TUESDAY, 10), duration_minutes=60)

        assert Appointment.objects.get(pk=r.json()["id"]).end_time == berlin(TUESDAY, 11)

    def test_the_same_instant_given_with_another_offset_is_the_same_booking(self, book):
        r = book(berlin(TUESDAY, 10).astimezone(timezone(timedelta(hours=-5))))

        assert r.status_code == 201
        assert Appointment.objects.get(pk=r.json()["id"]).start_time == berlin(TUESDAY, 10)

    def test_telemedicine_gets_an_unguessable_room_url(self, book):
        first = book(berlin(TUESDAY, 10), appointment_type="telemedicine").json()
        second = book(berlin(TUESDAY, 11), appointment_type="telemedicine").json()

        assert first["meeting_url"].startswith("https://meet.jit.si/jeghealth-")
        token = first["meeting_url"].removeprefix("https://meet.jit.si/jeghealth-")
        assert len(token) == 32 and first["meeting_url"] != second["meeting_url"]
        assert first["location"] == first["meeting_url"]

    def test_room_url_pattern_comes_from_settings(self, book, settings):
        settings.TELEMEDICINE_ROOM_URL_PATTERN = "https://video.example.org/rooms/{token}?lang=en"

        url = book(berlin(TUESDAY, 10), appointment_type="telemedicine").json()["meeting_url"]

        assert url.startswith("https://video.example.org/rooms/") and url.endswith("?lang=en")

    def test_the_doctor_is_told_after_commit(self, book, provider, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = book(berlin(TUESDAY, 10), reason="Knee pain")

        notice = Notification.objects.get(recipient=provider.doctor)
        assert notice.category == "appointment_reminder" and notice.title == "New appointment booked"
        assert notice.data["appointment_id"] == r.json()["id"]
        assert notice.body.endswith("booked an appointment in person on Tue 25 Mar 2025, 10:00 (CET).")
        assert "Knee" not in notice.body

    def test_nothing_is_told_when_the_booking_fails(self, book, provider, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            book(berlin(SATURDAY, 10))

        assert not Notification.objects.exists()


@pytest.mark.django_db
class TestBookingRules:
    def test_in_the_past_answers_400(self, book):
        r = book(berlin(TUESDAY, 10) - timedelta(days=7))

        assert r.status_code == 400
        assert r.json()["error"]["fields"] == {"start_time": ["The start time is in the past."]}
        assert not Appointment.objects.exists()

    @pytest.mark.parametrize("start", ["2027-06-01T10:00:00+02:00", "9999-12-31T23:50:00+00:00"])
    def test_beyond_the_booking_horizon_answers_400(self, book, start):
        r = book(berlin(TUESDAY, 10), start_time=start)

        assert r.status_code == 400 and "start_time" in r.json()["error"]["fields"]
        assert not Appointment.objects.exists()

    def test_outside_working_hours_answers_400(self, book):
        r = book(berlin(TUESDAY, 8, 30))

        assert r.status_code == 400 and "start_time" in r.json()["error"]["fields"]
        assert not Appointment.objects.exists()

    def test_running_past_the_end_of_the_day_answers_400(self, book):
        assert book(berlin(TUESDAY, 16, 45)).status_code == 400

    def test_on_a_weekend_answers_400(self, book):
        assert book(berlin(SATURDAY, 10)).status_code == 400

    def test_on_a_day_off_answers_400(self, book, provider):
        provider.days_off = ["2025-03-25"]
        provider.save()

        r = book(berlin(TUESDAY, 10))

        assert r.status_code == 400
        assert r.json()["error"]["fields"]["start_time"] == ["The provider does not work on that day."]

    def test_with_someone_who_is_not_a_doctor_answers_400(self, client_a, user_b):
        body = {"provider": str(user_b.pk), "start_time": iso(berlin(TUESDAY, 10)), "appointment_type": "phone"}

        r = client_a.post(URL, body, format="json")

        assert r.status_code == 400 and "provider" in r.json()["error"]["fields"]
        assert not Appointment.objects.exists()

    def test_with_oneself_answers_400(self, book, client_doctor):
        assert book(berlin(TUESDAY, 10), client=client_doctor).status_code == 400

    def test_after_the_dst_change_hours_are_local(self, book):
        # 08:00 CET would be 09:00 CEST; after the change 08:00 local (06:00 UTC) is before opening.
        assert book(berlin(NEXT_MONDAY, 8)).status_code == 400
        r = book(berlin(NEXT_MONDAY, 9))
        assert r.status_code == 201
        assert r.json()["start_time"] == "2025-03-31T07:00:00Z"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"appointment_type": "video"}, "appointment_type"),
            ({"start_time": "2025-03-25T10:00:00"}, "start_time"),
            ({"start_time": "tomorrow"}, "start_time"),
            ({"duration_minutes": 0}, "duration_minutes"),
            ({"duration_minutes": "long"}, "duration_minutes"),
            ({"provider": "not-a-uuid"}, "provider"),
        ],
    )
    def test_invalid_fields_answer_400_in_the_envelope(self, book, change, field):
        r = book(berlin(TUESDAY, 10), **change)

        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "validation_error" and list(error["fields"]) == [field]
        assert not Appointment.objects.exists()

    def test_anonymous_gets_401(self, anon, provider):
        assert anon.post(URL, {}, format="json").status_code == 401


@pytest.mark.django_db
class TestDoubleBooking:
    def test_a_taken_slot_answers_409(self, book, api, user_b, provider):
        assert book(berlin(TUESDAY, 10)).status_code == 201

        r = book(berlin(TUESDAY, 10), client=api(user_b))

        assert r.status_code == 409
        assert r.json()["error"]["code"] == "conflict"
        assert Appointment.objects.count() == 1

    def test_a_partial_overlap_answers_409(self, book, api, user_b):
        book(berlin(TUESDAY, 10), duration_minutes=60)

        assert book(berlin(TUESDAY, 10, 30), client=api(user_b)).status_code == 409

    def test_back_to_back_appointments_are_fine(self, book, api, user_b):
        book(berlin(TUESDAY, 10))

        assert book(berlin(TUESDAY, 10, 30), client=api(user_b)).status_code == 201

    def test_a_cancelled_appointment_frees_its_slot(self, book, api, user_b, provider):
        AppointmentFactory(provider=provider.doctor, start_time=berlin(TUESDAY, 10), status=AppointmentStatus.CANCELLED)

        assert book(berlin(TUESDAY, 10), client=api(user_b)).status_code == 201

    def test_a_patient_cannot_overlap_their_own_appointments(self, book, client_a):
        other = ProviderProfileFactory()
        book(berlin(TUESDAY, 10))

        r = client_a.post(
            URL,
            {"provider": str(other.doctor_id), "start_time": iso(berlin(TUESDAY, 10, 15)), "appointment_type": "phone"},
            format="json",
        )

        assert r.status_code == 409
        assert r.json()["error"]["message"] == "You already have another appointment at that time."
        assert Appointment.objects.count() == 1
