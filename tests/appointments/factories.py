"""Provider profiles and appointments stored directly, for tests whose subject is not the booking itself
(lifecycle, lists, reminders). Bookings under test go through POST appointments/."""

from __future__ import annotations

from datetime import timedelta

import factory

from appointments.choices import AppointmentStatus, AppointmentType
from appointments.models import Appointment, ProviderProfile
from tests.accounts.factories import DoctorFactory, UserFactory


class ProviderProfileFactory(factory.django.DjangoModelFactory):
    """A doctor in Berlin working Monday to Friday, 09:00–17:00, 30-minute consultations."""

    class Meta:
        model = ProviderProfile

    doctor = factory.SubFactory(DoctorFactory)
    specialty = "General practice"
    clinic_name = "Praxis Mitte"
    clinic_address = "Invalidenstraße 1, 10115 Berlin"
    consultation_minutes = 30
    timezone = "Europe/Berlin"
    working_hours = factory.LazyFunction(
        lambda: [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]
    )
    days_off = factory.LazyFunction(list)


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(UserFactory)
    provider = factory.SubFactory(DoctorFactory)
    end_time = factory.LazyAttribute(lambda o: o.start_time + timedelta(minutes=30))
    appointment_type = AppointmentType.IN_PERSON
    status = AppointmentStatus.SCHEDULED
    reason = "Follow-up"
    slot_booked_at = factory.LazyAttribute(lambda o: o.start_time - timedelta(days=7))
    created_at = factory.LazyAttribute(lambda o: o.slot_booked_at)
