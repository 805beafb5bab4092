"""The video room of a telemedicine appointment is a key to the consultation: only its patient and its provider
see `meeting_url` (and the `location` that repeats it). A doctor reading the patient's appointments through an
`appointments` grant sees everything else of them, but not the room."""

import pytest
from icalendar import Calendar

from appointments.choices import AppointmentType

from .conftest import TUESDAY, URL, berlin, grant
from .factories import AppointmentFactory, ProviderProfileFactory

ROOM = "https://meet.jit.si/jeghealth-0123456789abcdef0123456789abcdef"


@pytest.fixture
def video(user_a, provider):
    return AppointmentFactory(
        patient=user_a,
        provider=provider.doctor,
        start_time=berlin(TUESDAY, 10),
        appointment_type=AppointmentType.TELEMEDICINE,
        meeting_url=ROOM,
    )


@pytest.fixture
def granted(api, user_a):
    """Another doctor, holding the patient's `appointments` grant."""
    doctor = ProviderProfileFactory().doctor
    grant(user_a, doctor)
    return api(doctor)


@pytest.mark.django_db
class TestTheParties:
    def test_the_patient_sees_the_room(self, client_a, video):
        body = client_a.get(f"{URL}{video.pk}/").json()

        assert body["meeting_url"] == ROOM and body["location"] == ROOM

    def test_the_provider_sees_the_room(self, client_doctor, video):
        (row,) = client_doctor.get(URL).json()["results"]

        assert row["meeting_url"] == ROOM and row["location"] == ROOM

    def test_the_provider_gets_it_back_from_an_action(self, client_doctor, video):
        r = client_doctor.post(f"{URL}{video.pk}/confirm/")

        assert r.status_code == 200 and r.json()["meeting_url"] == ROOM


@pytest.mark.django_db
class TestADoctorWithAGrant:
    def test_the_list_hides_the_room(self, granted, user_a, video):
        r = granted.get(URL, {"patient": str(user_a.pk)})

        (row,) = r.json()["results"]
        assert r.status_code == 200 and row["id"] == str(video.pk)
        assert (row["meeting_url"], row["location"]) == ("", "")
        assert ROOM.encode() not in r.content

    def test_the_detail_hides_the_room(self, granted, user_a, video):
        r = granted.get(f"{URL}{video.pk}/", {"patient": str(user_a.pk)})

        assert r.status_code == 200 and r.json()["appointment_type"] == "telemedicine"
        assert ROOM.encode() not in r.content

    def test_their_calendar_feed_does_not_hold_the_patients_appointment(self, granted, anon, video):
        url = granted.get(f"{URL}calendar/").json()["url"]

        feed = anon.get("/" + url.split("/", 3)[3])

        assert feed.status_code == 200
        assert Calendar.from_ical(feed.content).walk("VEVENT") == []
        assert ROOM.encode() not in feed.content

    def test_the_schema_says_who_sees_it(self, client_a):
        schema = client_a.get("/api/schema/?format=json").json()

        help_text = schema["components"]["schemas"]["Appointment"]["properties"]["meeting_url"]["description"]
        assert "patient and provider only" in help_text
