"""The secret iCalendar feed: its URL, reading it without a token, rotating and revoking it."""

import hashlib

import pytest
from django.db import connection
from icalendar import Calendar

from appointments.choices import AppointmentStatus, AppointmentType
from appointments.models import CalendarFeed

from .conftest import MONDAY, TUESDAY, berlin
from .factories import AppointmentFactory

CALENDAR = "/api/v1/appointments/calendar/"


def feed_path(url: str) -> str:
    return url.removeprefix("http://testserver")


@pytest.mark.django_db
class TestCalendarUrl:
    def test_answers_an_absolute_ics_url_and_the_same_one_again(self, client_a, user_a):
        first = client_a.get(CALENDAR)

        assert first.status_code == 200
        url = first.json()["url"]
        assert url.startswith("http://testserver/api/v1/appointments/calendar/") and url.endswith(".ics")
        assert client_a.get(CALENDAR).json()["url"] == url
        assert CalendarFeed.objects.filter(user=user_a).count() == 1

    def test_the_token_is_stored_only_as_a_digest_and_ciphertext(self, client_a, user_a):
        url = client_a.get(CALENDAR).json()["url"]
        token = url.rsplit("/", 1)[1].removesuffix(".ics")

        with connection.cursor() as cursor:
            pk = CalendarFeed._meta.pk.get_db_prep_value(user_a.pk, connection)
            cursor.execute("SELECT token_hash, token FROM appointments_calendarfeed WHERE user_id = %s", [pk])
            digest, stored = cursor.fetchone()
        assert digest == hashlib.sha256(token.encode()).hexdigest()
        assert stored.startswith("fernet:") and token not in stored

    def test_each_person_has_their_own(self, client_a, client_b):
        assert client_a.get(CALENDAR).json()["url"] != client_b.get(CALENDAR).json()["url"]

    def test_rotate_replaces_the_url_and_the_old_one_is_404(self, client_a, anon):
        old = client_a.get(CALENDAR).json()["url"]

        r = client_a.post(CALENDAR + "rotate/")

        assert r.status_code == 200 and r.json()["url"] != old
        assert anon.get(feed_path(old)).status_code == 404
        assert anon.get(feed_path(r.json()["url"])).status_code == 200

    def test_delete_revokes_it(self, client_a, anon, user_a):
        old = client_a.get(CALENDAR).json()["url"]

        assert client_a.delete(CALENDAR).status_code == 204

        assert anon.get(feed_path(old)).status_code == 404
        assert not CalendarFeed.objects.filter(user=user_a).exists()
        assert client_a.get(CALENDAR).json()["url"] != old

    def test_anonymous_gets_401(self, anon):
        assert anon.get(CALENDAR).status_code == 401
        assert anon.post(CALENDAR + "rotate/").status_code == 401


@pytest.mark.django_db
class TestFeed:
    def test_is_rfc5545_with_the_upcoming_active_appointments(self, client_a, anon, user_a, provider):
        upcoming = AppointmentFactory(
            patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, 10), reason="Private matter"
        )
        video = AppointmentFactory(
            patient=user_a,
            provider=provider.doctor,
            start_time=berlin(TUESDAY, 11),
            status=AppointmentStatus.CONFIRMED,
            appointment_type=AppointmentType.TELEMEDICINE,
            meeting_url="https://meet.jit.si/jeghealth-abc",
        )
        AppointmentFactory(
            patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, 12), status=AppointmentStatus.CANCELLED
        )
        AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(MONDAY, 6))  # already over
        url = client_a.get(CALENDAR).json()["url"]

        r = anon.get(feed_path(url), HTTP_ACCEPT="text/calendar")

        assert r.status_code == 200
        assert r["Content-Type"].startswith("text/calendar")
        calendar = Calendar.from_ical(r.content)
        assert str(calendar["version"]) == "2.0" and "JEGHealth" in str(calendar["prodid"])
        events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
        assert set(events) == {f"{upcoming.pk}@jeghealth", f"{video.pk}@jeghealth"}
        first = events[f"{upcoming.pk}@jeghealth"]
        assert first.decoded("dtstart") == berlin(TUESDAY, 10) and first.decoded("dtend") == berlin(TUESDAY, 10, 30)
        assert str(first["summary"]) == f"Appointment with {provider.doctor.full_name}"
        assert str(first["status"]) == "TENTATIVE" and "Praxis Mitte" in str(first["location"])
        second = events[f"{video.pk}@jeghealth"]
        assert str(second["status"]) == "CONFIRMED" and str(second["url"]) == "https://meet.jit.si/jeghealth-abc"
        assert b"Private matter" not in r.content

    def test_a_doctors_feed_holds_the_appointments_with_them(self, api, doctor, anon, user_a, provider):
        AppointmentFactory(patient=user_a, provider=doctor, start_time=berlin(TUESDAY, 10))
        url = api(doctor).get(CALENDAR).json()["url"]

        calendar = Calendar.from_ical(anon.get(feed_path(url)).content)

        assert [str(e["summary"]) for e in calendar.walk("VEVENT")] == [f"Appointment with {user_a.full_name}"]

    def test_a_wrong_token_is_404_in_the_envelope(self, anon):
        r = anon.get(CALENDAR + "x" * 43 + ".ics", HTTP_ACCEPT="text/calendar")

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

    def test_a_bearer_token_is_not_needed_nor_in_the_way(self, client_a):
        url = client_a.get(CALENDAR).json()["url"]

        assert client_a.get(feed_path(url)).status_code == 200
