"""PostgreSQL behaviour: the exclusion constraints hold under concurrency, and reminders stay exactly-once.

SQLite serialises writers and the services check for overlaps inside their write transaction there; these
tests are about the database refusing the second of two simultaneous writes, which only PostgreSQL does.
"""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, connections, transaction

from appointments.choices import AppointmentStatus
from appointments.models import Appointment, AppointmentSeries
from appointments.reminders import reminders_send_due
from notifications.models import Notification
from tests.accounts.factories import UserFactory
from tests.conftest import client_for

from .conftest import TUESDAY, URL, berlin
from .factories import AppointmentFactory, ProviderProfileFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not ON_POSTGRES, reason="needs PostgreSQL exclusion constraints and concurrent connections; CI runs it"
    ),
]


def run_together(*calls) -> list:
    """Run CALLS in parallel threads released at the same moment; answers their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
class TestConcurrentBooking:
    def test_two_simultaneous_bookings_of_one_slot_leave_one_appointment_and_one_409(self):
        provider = ProviderProfileFactory()
        patients = [UserFactory(), UserFactory()]
        clients = [client_for(p) for p in patients]
        body = {"provider": str(provider.doctor_id), "start_time": berlin(TUESDAY, 10).isoformat()}

        def booking(client):
            return lambda: client.post(URL, {**body, "appointment_type": "in_person"}, format="json").status_code

        statuses = run_together(*(booking(c) for c in clients))

        assert sorted(statuses) == [201, 409]
        assert Appointment.objects.filter(provider=provider.doctor).count() == 1

    def test_two_simultaneous_reschedules_onto_one_slot_leave_one_there(self):
        provider = ProviderProfileFactory()
        appointments = [
            AppointmentFactory(provider=provider.doctor, start_time=berlin(TUESDAY, hour)) for hour in (9, 10)
        ]
        target = berlin(TUESDAY, 15).isoformat()

        def moving(appointment):
            client = client_for(appointment.patient)
            url = f"{URL}{appointment.pk}/reschedule/"
            return lambda: client.post(url, {"start_time": target}, format="json").status_code

        statuses = run_together(*(moving(a) for a in appointments))

        assert sorted(statuses) == [200, 409]
        assert Appointment.objects.filter(start_time=berlin(TUESDAY, 15)).count() == 1


@pytest.mark.django_db(transaction=True)
class TestConcurrentSeries:
    def _booking(self, client, provider, start, rule="FREQ=WEEKLY;COUNT=6"):
        body = {
            "provider": str(provider.doctor_id),
            "start_time": start.isoformat(),
            "appointment_type": "in_person",
            "recurrence": rule,
        }
        return lambda: client.post(URL, body, format="json")

    def test_two_simultaneous_overlapping_series_have_exactly_one_winner(self):
        provider = ProviderProfileFactory()
        clients = [client_for(UserFactory()), client_for(UserFactory())]
        # The second series starts two weeks later: four of its six occurrences meet the first's.
        starts = [berlin(TUESDAY, 10), berlin(TUESDAY + timedelta(weeks=2), 10)]

        answers = run_together(*(self._booking(c, provider, s) for c, s in zip(clients, starts, strict=True)))

        assert sorted(a.status_code for a in answers) == [201, 409]
        loser = next(a for a in answers if a.status_code == 409)
        assert len(loser.json()["error"]["fields"]["recurrence"]) == 4
        assert Appointment.objects.filter(provider=provider.doctor).count() == 6
        assert AppointmentSeries.objects.count() == 1

    def test_a_series_and_a_single_booking_of_one_of_its_slots_have_one_winner(self):
        provider = ProviderProfileFactory()
        series_client, single_client = client_for(UserFactory()), client_for(UserFactory())
        fourth = berlin(TUESDAY + timedelta(weeks=3), 10)
        single = {"provider": str(provider.doctor_id), "start_time": fourth.isoformat(), "appointment_type": "phone"}

        answers = run_together(
            self._booking(series_client, provider, berlin(TUESDAY, 10)),
            lambda: single_client.post(URL, single, format="json"),
        )

        assert sorted(a.status_code for a in answers) == [201, 409]
        assert Appointment.objects.filter(provider=provider.doctor, start_time=fourth).count() == 1
        assert Appointment.objects.filter(provider=provider.doctor).count() in (1, 6)


@pytest.mark.django_db
class TestExclusionConstraints:
    def test_the_database_refuses_an_overlapping_active_appointment_of_a_provider(self):
        first = AppointmentFactory(start_time=berlin(TUESDAY, 10))

        with pytest.raises(IntegrityError, match="appt_provider_no_overlap"), transaction.atomic():
            AppointmentFactory(provider=first.provider, start_time=berlin(TUESDAY, 10, 15))

    def test_the_database_refuses_an_overlapping_active_appointment_of_a_patient(self):
        first = AppointmentFactory(start_time=berlin(TUESDAY, 10))

        with pytest.raises(IntegrityError, match="appt_patient_no_overlap"), transaction.atomic():
            AppointmentFactory(patient=first.patient, start_time=berlin(TUESDAY, 10, 15))

    def test_inactive_appointments_and_touching_ranges_are_allowed(self):
        first = AppointmentFactory(start_time=berlin(TUESDAY, 10), status=AppointmentStatus.CANCELLED)

        AppointmentFactory(provider=first.provider, start_time=berlin(TUESDAY, 10))
        AppointmentFactory(provider=first.provider, start_time=berlin(TUESDAY, 10, 30))

        assert Appointment.objects.filter(provider=first.provider).count() == 3


@pytest.mark.django_db(transaction=True)
class TestConcurrentReminders:
    def test_two_beats_at_once_send_each_reminder_once(self, frozen):
        appointment = AppointmentFactory(start_time=berlin(TUESDAY, 10))
        frozen.move_to(appointment.start_time - timedelta(hours=24))

        sent = run_together(reminders_send_due, reminders_send_due)

        assert sorted(sent) == [0, 1]
        assert Notification.objects.filter(recipient=appointment.patient, title="Appointment reminder").count() == 1
