"""Recurring appointments: POST appointments/ with `recurrence`, all or nothing; cancel "this and following".

The clock is the package's (Monday 2025-03-24, 07:00 in Berlin); Berlin moves to summer time on Sunday 30 March,
so a weekly series that starts on Tuesday 25 March crosses the change after its first occurrence.
"""

from datetime import date, timedelta

import pytest
from icalendar import Calendar

from appointments.choices import AppointmentStatus
from appointments.models import Appointment, AppointmentSeries
from appointments.reminders import reminders_send_due
from notifications.models import Notification

from .conftest import TUESDAY, URL, berlin, iso
from .factories import AppointmentFactory, ProviderProfileFactory

WEEKLY_6 = "FREQ=WEEKLY;COUNT=6"


def weekly(start, count: int) -> list:
    """The Berlin wall-clock starts of a weekly series: the same local time every week, whatever the offset."""
    return [berlin(start.date() + timedelta(weeks=i), start.hour, start.minute) for i in range(count)]


@pytest.fixture
def series(book):
    """`series(start, rule, **fields)`: user_a books a series with the provider; answers the response."""

    def _series(start, rule=WEEKLY_6, **fields):
        return book(start, recurrence=rule, **fields)

    return _series


@pytest.mark.django_db
class TestSeriesBooking:
    def test_books_every_occurrence_in_one_series(self, series, user_a, provider):
        r = series(berlin(TUESDAY, 10))

        assert r.status_code == 201, r.content
        body = r.json()
        assert body["start_time"] == "2025-03-25T09:00:00Z" and body["series"] is not None
        stored = Appointment.objects.filter(series_id=body["series"]).order_by("start_time")
        assert [a.start_time for a in stored] == weekly(berlin(TUESDAY, 10), 6)
        assert {(a.patient_id, a.provider_id, a.status) for a in stored} == {
            (user_a.pk, provider.doctor_id, AppointmentStatus.SCHEDULED)
        }
        assert AppointmentSeries.objects.get(pk=body["series"]).recurrence == WEEKLY_6

    def test_occurrences_keep_their_local_time_across_the_dst_change(self, series):
        body = series(berlin(TUESDAY, 10), "FREQ=WEEKLY;COUNT=2").json()

        starts = list(Appointment.objects.filter(series_id=body["series"]).order_by("start_time"))
        # 10:00 CET is 09:00 UTC; after the change 10:00 CEST is 08:00 UTC.
        assert [a.start_time.isoformat() for a in starts] == ["2025-03-25T09:00:00+00:00", "2025-04-01T08:00:00+00:00"]

    def test_interval_and_monthly_rules_with_byday(self, series):
        body = series(berlin(date(2025, 3, 28), 9), "RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=3").json()

        starts = Appointment.objects.filter(series_id=body["series"]).order_by("start_time")
        assert [a.start_time.date() for a in starts] == [date(2025, 3, 28), date(2025, 4, 25), date(2025, 5, 30)]

    def test_every_four_weeks_until_a_date(self, series):
        body = series(berlin(TUESDAY, 10), "FREQ=WEEKLY;INTERVAL=4;UNTIL=20250630").json()

        starts = Appointment.objects.filter(series_id=body["series"]).order_by("start_time")
        assert [a.start_time.date() for a in starts] == [TUESDAY + timedelta(weeks=4 * i) for i in range(4)]

    def test_each_telemedicine_occurrence_has_its_own_room(self, series):
        body = series(berlin(TUESDAY, 10), "FREQ=WEEKLY;COUNT=3", appointment_type="telemedicine").json()

        rooms = set(Appointment.objects.filter(series_id=body["series"]).values_list("meeting_url", flat=True))
        assert len(rooms) == 3 and all(room.startswith("https://") for room in rooms)

    def test_the_occurrences_are_listed_by_series(self, series, client_a):
        body = series(berlin(TUESDAY, 10))
        book_single = client_a.post(
            URL,
            {"provider": body.json()["provider"], "start_time": iso(berlin(TUESDAY, 15)), "appointment_type": "phone"},
            format="json",
        )

        listed = client_a.get(URL, {"series": body.json()["series"]}).json()

        assert book_single.status_code == 201
        assert listed["count"] == 6 and {row["series"] for row in listed["results"]} == {body.json()["series"]}

    def test_the_doctor_is_told_once_for_the_whole_series(self, series, provider, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            series(berlin(TUESDAY, 10))

        notes = Notification.objects.filter(recipient=provider.doctor)
        assert notes.count() == 1
        assert "6 appointments" in notes.get().body

    def test_answers_401_without_credentials(self, anon, provider):
        body = {
            "provider": str(provider.doctor_id),
            "start_time": iso(berlin(TUESDAY, 10)),
            "appointment_type": "in_person",
            "recurrence": WEEKLY_6,
        }

        assert anon.post(URL, body, format="json").status_code == 401
        assert not Appointment.objects.exists()


@pytest.mark.django_db
class TestSeriesClashes:
    def test_a_clash_in_the_seventh_occurrence_books_nothing(self, series, provider, user_a):
        seventh = weekly(berlin(TUESDAY, 10), 7)[6]
        AppointmentFactory(provider=provider.doctor, start_time=seventh)

        r = series(berlin(TUESDAY, 10), "FREQ=WEEKLY;COUNT=10")

        assert r.status_code == 409
        error = r.json()["error"]
        assert error["code"] == "conflict"
        assert error["fields"] == {"recurrence": ["2025-05-06T10:00:00+02:00"]}
        assert not Appointment.objects.filter(patient=user_a).exists()
        assert not AppointmentSeries.objects.exists()

    def test_lists_every_clashing_start(self, series, provider):
        starts = weekly(berlin(TUESDAY, 10), 6)
        for index in (1, 4):
            AppointmentFactory(provider=provider.doctor, start_time=starts[index] + timedelta(minutes=15))

        r = series(berlin(TUESDAY, 10))

        assert r.status_code == 409
        assert r.json()["error"]["fields"]["recurrence"] == [starts[1].isoformat(), starts[4].isoformat()]

    def test_the_patients_own_appointment_elsewhere_is_a_clash(self, series, user_a, provider):
        third = weekly(berlin(TUESDAY, 10), 3)[2]
        AppointmentFactory(patient=user_a, provider=ProviderProfileFactory().doctor, start_time=third)

        r = series(berlin(TUESDAY, 10))

        assert r.status_code == 409
        assert r.json()["error"]["fields"]["recurrence"] == [third.isoformat()]
        assert Appointment.objects.filter(patient=user_a).count() == 1

    def test_a_cancelled_appointment_is_no_clash(self, series, provider):
        third = weekly(berlin(TUESDAY, 10), 3)[2]
        AppointmentFactory(provider=provider.doctor, start_time=third, status=AppointmentStatus.CANCELLED)

        assert series(berlin(TUESDAY, 10)).status_code == 201


@pytest.mark.django_db
class TestSeriesValidation:
    @pytest.mark.parametrize(
        ("rule", "says"),
        [
            ("FREQ=WEEKLY;COUNT=53", "COUNT"),
            ("FREQ=WEEKLY;UNTIL=20260401", "one year"),
            ("FREQ=MONTHLY;COUNT=6;UNTIL=20250901", "not both"),
            ("FREQ=WEEKLY", "ends"),
            ("FREQ=DAILY;COUNT=5", "WEEKLY or MONTHLY"),
            ("FREQ=WEEKLY;BYHOUR=9,14;COUNT=4", "BYHOUR"),
            ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20251231", "at most 52"),
            ("FREQ=WEEKLY;BYDAY=WE;COUNT=3", "first occurrence"),
            ("FREQ=WEEKLY;INTERVAL=0;COUNT=3", "INTERVAL"),
        ],
    )
    def test_a_rule_over_the_bounds_answers_400_naming_recurrence(self, series, rule, says):
        r = series(berlin(TUESDAY, 10), rule)

        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "validation_error" and list(error["fields"]) == ["recurrence"]
        assert says in error["fields"]["recurrence"][0]
        assert not Appointment.objects.exists() and not AppointmentSeries.objects.exists()

    @pytest.mark.parametrize(
        "rule", ["every monday", "FREQ=WEEKLY;COUNT=x", "FREQ=WEEKLY;COUNT=3\nEXDATE:20250401T100000", "FREQ=WEEKLY;;"]
    )
    def test_text_that_is_not_an_rrule_answers_400(self, series, rule):
        r = series(berlin(TUESDAY, 10), rule)

        assert r.status_code == 400
        assert list(r.json()["error"]["fields"]) == ["recurrence"]
        assert not Appointment.objects.exists()

    def test_an_occurrence_on_a_day_off_books_nothing(self, series, provider):
        provider.days_off = [(TUESDAY + timedelta(weeks=2)).isoformat()]
        provider.save()

        r = series(berlin(TUESDAY, 10))

        assert r.status_code == 400
        message = r.json()["error"]["fields"]["recurrence"][0]
        assert message.startswith("2025-04-08T10:00:00+02:00") and "does not work" in message
        assert not Appointment.objects.exists()

    def test_an_empty_rule_answers_400(self, series):
        assert series(berlin(TUESDAY, 10), "").status_code == 400


@pytest.mark.django_db
class TestSeriesReminders:
    def test_every_occurrence_is_reminded(self, series, user_a, frozen):
        series(berlin(TUESDAY, 10), "FREQ=WEEKLY;COUNT=3")
        starts = weekly(berlin(TUESDAY, 10), 3)

        for start in starts:
            frozen.move_to(start - timedelta(hours=24))
            assert reminders_send_due() == 1

        reminders = Notification.objects.filter(recipient=user_a, title="Appointment reminder")
        assert reminders.count() == 3

    def test_the_feed_holds_one_event_per_occurrence(self, series, client_a, anon):
        body = series(berlin(TUESDAY, 10)).json()
        feed = client_a.get("/api/v1/appointments/calendar/").json()["url"].removeprefix("http://testserver")

        events = Calendar.from_ical(anon.get(feed).content).walk("VEVENT")

        ids = {str(a.pk) for a in Appointment.objects.filter(series_id=body["series"])}
        assert {str(e["uid"]).removesuffix("@jeghealth") for e in events} == ids
        assert sorted(e.decoded("dtstart") for e in events) == weekly(berlin(TUESDAY, 10), 6)


@pytest.mark.django_db
class TestCancelFollowing:
    @pytest.fixture
    def booked(self, series):
        body = series(berlin(TUESDAY, 10)).json()
        return list(Appointment.objects.filter(series_id=body["series"]).order_by("start_time"))

    def _cancel(self, client, appointment, **body):
        return client.post(f"{URL}{appointment.pk}/cancel/", body, format="json")

    def test_cancels_that_occurrence_and_every_later_one(self, client_a, booked):
        r = self._cancel(client_a, booked[2], scope="following", reason="Moving away")

        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        statuses = [a.status for a in Appointment.objects.filter(series_id=booked[0].series_id).order_by("start_time")]
        assert statuses == [AppointmentStatus.SCHEDULED] * 2 + [AppointmentStatus.CANCELLED] * 4
        later = Appointment.objects.get(pk=booked[5].pk)
        assert later.cancellation_reason == "Moving away" and later.cancelled_at is not None

    def test_without_scope_only_that_occurrence_is_cancelled(self, client_a, booked):
        self._cancel(client_a, booked[2])

        cancelled = Appointment.objects.filter(status=AppointmentStatus.CANCELLED)
        assert list(cancelled.values_list("pk", flat=True)) == [booked[2].pk]

    def test_the_doctor_may_cancel_the_following_and_the_patient_is_told_once(
        self, client_doctor, booked, user_a, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            r = self._cancel(client_doctor, booked[3], scope="following")

        assert r.status_code == 200
        assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() == 3
        notes = Notification.objects.filter(recipient=user_a, title="Recurring appointments cancelled")
        assert notes.count() == 1 and "3 appointments" in notes.get().body

    def test_an_already_cancelled_occurrence_answers_409(self, client_a, booked):
        self._cancel(client_a, booked[4])

        r = self._cancel(client_a, booked[4], scope="following")

        assert r.status_code == 409
        assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() == 1

    def test_a_single_appointment_is_cancelled_alone(self, client_a, book, booked):
        single = book(berlin(TUESDAY, 15)).json()

        r = client_a.post(f"{URL}{single['id']}/cancel/", {"scope": "following"}, format="json")

        assert r.status_code == 200
        assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() == 1

    def test_another_persons_series_answers_404(self, client_b, booked):
        r = self._cancel(client_b, booked[0], scope="following")

        assert r.status_code == 404
        assert not Appointment.objects.filter(status=AppointmentStatus.CANCELLED).exists()

    def test_an_unknown_scope_answers_400(self, client_a, booked):
        r = self._cancel(client_a, booked[0], scope="all")

        assert r.status_code == 400 and "scope" in r.json()["error"]["fields"]
        assert not Appointment.objects.filter(status=AppointmentStatus.CANCELLED).exists()
