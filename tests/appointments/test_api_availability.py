"""providers/{id}/availability/: free slots of a day in the provider's zone, also across a DST change."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest

from appointments.choices import AppointmentStatus

from .conftest import MONDAY, NEXT_MONDAY, SATURDAY, TUESDAY, berlin
from .factories import AppointmentFactory


def availability(client, provider, day):
    return client.get(f"/api/v1/appointments/providers/{provider.doctor_id}/availability/", {"date": str(day)})


def starts(response) -> list[str]:
    return [slot["start"] for slot in response.json()["slots"]]


@pytest.mark.django_db
class TestSlots:
    def test_a_working_day_is_cut_into_consultations_with_the_provider_offset(self, client_a, provider):
        r = availability(client_a, provider, TUESDAY)

        assert r.status_code == 200
        body = r.json()
        assert body["date"] == "2025-03-25" and body["timezone"] == "Europe/Berlin"
        assert len(body["slots"]) == 16
        assert body["slots"][0] == {"start": "2025-03-25T09:00:00+01:00", "end": "2025-03-25T09:30:00+01:00"}
        assert body["slots"][-1] == {"start": "2025-03-25T16:30:00+01:00", "end": "2025-03-25T17:00:00+01:00"}

    def test_booked_time_is_not_offered(self, client_a, provider):
        AppointmentFactory(provider=provider.doctor, start_time=berlin(TUESDAY, 10), status=AppointmentStatus.SCHEDULED)
        AppointmentFactory(
            provider=provider.doctor,
            start_time=berlin(TUESDAY, 11),
            end_time=berlin(TUESDAY, 12),
            status=AppointmentStatus.CONFIRMED,
        )

        slots = starts(availability(client_a, provider, TUESDAY))

        assert "2025-03-25T10:00:00+01:00" not in slots
        assert "2025-03-25T11:00:00+01:00" not in slots and "2025-03-25T11:30:00+01:00" not in slots
        assert "2025-03-25T10:30:00+01:00" in slots and "2025-03-25T12:00:00+01:00" in slots
        assert len(slots) == 13

    def test_cancelled_and_finished_appointments_free_their_time(self, client_a, provider):
        for minutes, status in ((0, AppointmentStatus.CANCELLED), (30, AppointmentStatus.COMPLETED)):
            AppointmentFactory(provider=provider.doctor, start_time=berlin(TUESDAY, 10, minutes), status=status)

        assert len(starts(availability(client_a, provider, TUESDAY))) == 16

    def test_an_appointment_of_another_provider_does_not_block(self, client_a, provider):
        AppointmentFactory(start_time=berlin(TUESDAY, 10))

        assert len(starts(availability(client_a, provider, TUESDAY))) == 16

    def test_past_slots_of_today_are_left_out(self, api, user_a, provider, frozen):
        frozen.move_to(berlin(MONDAY, 12, 10))

        slots = starts(availability(api(user_a), provider, MONDAY))

        assert slots[0] == "2025-03-24T12:30:00+01:00" and len(slots) == 9

    @pytest.mark.parametrize("day", ["2025-03-21", "2027-06-01", "9999-12-31", "0001-01-01"])
    def test_days_before_today_or_beyond_the_booking_horizon_have_no_slots(self, client_a, provider, day):
        r = availability(client_a, provider, day)

        assert r.status_code == 200 and r.json()["slots"] == []

    def test_weekend_has_no_slots(self, client_a, provider):
        assert availability(client_a, provider, SATURDAY).json()["slots"] == []

    def test_day_off_has_no_slots(self, client_a, provider):
        provider.days_off = ["2025-03-25"]
        provider.save()

        assert availability(client_a, provider, TUESDAY).json()["slots"] == []

    def test_several_spans_in_a_day_with_another_length(self, client_a, provider):
        provider.working_hours = [
            {"weekday": 1, "start": "08:00", "end": "09:00"},
            {"weekday": 1, "start": "14:00", "end": "15:00"},
        ]
        provider.consultation_minutes = 20
        provider.save()

        assert starts(availability(client_a, provider, TUESDAY)) == [
            "2025-03-25T08:00:00+01:00",
            "2025-03-25T08:20:00+01:00",
            "2025-03-25T08:40:00+01:00",
            "2025-03-25T14:00:00+01:00",
            "2025-03-25T14:20:00+01:00",
            "2025-03-25T14:40:00+01:00",
        ]

    def test_a_doctor_without_a_profile_offers_the_default_hours(self, client_a, doctor):
        r = client_a.get(f"/api/v1/appointments/providers/{doctor.pk}/availability/", {"date": str(TUESDAY)})

        assert r.json()["slots"][0]["start"] == "2025-03-25T09:00:00Z"


@pytest.mark.django_db
class TestDaylightSavingTime:
    def test_the_offset_follows_the_date_not_today(self, client_a, provider):
        before = availability(client_a, provider, date(2025, 3, 28)).json()["slots"][0]
        after = availability(client_a, provider, NEXT_MONDAY).json()["slots"][0]

        assert before["start"] == "2025-03-28T09:00:00+01:00"
        assert after["start"] == "2025-03-31T09:00:00+02:00"

    def test_the_night_the_clocks_go_forward_has_no_slots_in_the_missing_hour(self, client_a, provider):
        provider.working_hours = [{"weekday": 6, "start": "00:00", "end": "05:00"}]
        provider.consultation_minutes = 60
        provider.save()

        slots = availability(client_a, provider, date(2025, 3, 30)).json()["slots"]

        # 00:00 CET to 05:00 CEST is four real hours: the hour 02:00–03:00 does not exist that night.
        assert [(s["start"], s["end"]) for s in slots] == [
            ("2025-03-30T00:00:00+01:00", "2025-03-30T01:00:00+01:00"),
            ("2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00"),
            ("2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"),
            ("2025-03-30T04:00:00+02:00", "2025-03-30T05:00:00+02:00"),
        ]

    def test_a_booking_after_the_change_blocks_the_slot_at_its_local_time(self, client_a, provider):
        AppointmentFactory(provider=provider.doctor, start_time=berlin(NEXT_MONDAY, 9))

        slots = starts(availability(client_a, provider, NEXT_MONDAY))

        assert slots[0] == "2025-03-31T09:30:00+02:00"
        assert berlin(NEXT_MONDAY, 9).utcoffset() == timedelta(hours=2)


@pytest.mark.django_db
class TestClocksGoBack:
    """freezegun's datetimes lose `fold` in astimezone(), which is what tells 02:00 CEST from 02:00 CET; so here
    the clock is the real one and only Django's `now` is pinned."""

    @pytest.fixture
    def frozen(self, package_clock):
        with (
            package_clock.paused(),
            mock.patch("django.utils.timezone.now", return_value=datetime(2025, 10, 20, tzinfo=UTC)),
        ):
            yield

    def test_the_night_the_clocks_go_back_has_the_repeated_hour_twice(self, client_a, provider):
        provider.working_hours = [{"weekday": 6, "start": "01:00", "end": "04:00"}]
        provider.consultation_minutes = 60
        provider.save()

        slots = starts(availability(client_a, provider, date(2025, 10, 26)))

        # 01:00 CEST to 04:00 CET is four real hours: 02:00–03:00 happens twice that night.
        assert slots == [
            "2025-10-26T01:00:00+02:00",
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T03:00:00+01:00",
        ]


@pytest.mark.django_db
class TestAvailabilityErrors:
    def test_missing_date_answers_400_in_the_envelope(self, client_a, provider):
        r = client_a.get(f"/api/v1/appointments/providers/{provider.doctor_id}/availability/")

        assert r.status_code == 400
        assert "date" in r.json()["error"]["fields"]

    def test_bad_date_answers_400(self, client_a, provider):
        assert availability(client_a, provider, "2025-13-01").status_code == 400

    def test_a_person_who_is_not_a_doctor_is_404(self, client_a, user_b):
        r = client_a.get(f"/api/v1/appointments/providers/{user_b.pk}/availability/", {"date": str(TUESDAY)})

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

    def test_anonymous_gets_401(self, anon, provider):
        assert availability(anon, provider, TUESDAY).status_code == 401
