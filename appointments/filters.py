"""Query filters of the appointment list (django-filter)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters

from accounts.access import subject_for

from .choices import AppointmentStatus, AppointmentType, ParticipantRole
from .models import Appointment


class AppointmentFilter(django_filters.FilterSet):
    """`start_date`/`end_date` are days of the calendar of the person whose appointments are listed (their
    profile time zone), both included, matched against the start time."""

    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices)
    appointment_type = django_filters.ChoiceFilter(choices=AppointmentType.choices)
    # A plain UUID, not a model choice: a choice field would tell "no such provider" from "none with you".
    provider = django_filters.UUIDFilter(field_name="provider_id")
    series = django_filters.UUIDFilter(field_name="series_id", help_text="The occurrences of one recurring series.")
    start_date = django_filters.DateFilter(method="filter_start_date")
    end_date = django_filters.DateFilter(method="filter_end_date")
    role = django_filters.ChoiceFilter(
        choices=ParticipantRole.choices, method="filter_role", help_text="Only those where I am this party."
    )

    class Meta:
        model = Appointment
        fields = ["status", "appointment_type", "provider", "series", "start_date", "end_date", "role"]

    def _local_midnight(self, day) -> datetime:
        tz = subject_for(self.request, scope="appointments").profile.tzinfo
        return datetime.combine(day, time.min, tzinfo=tz)

    def filter_start_date(self, queryset, name, value):
        return queryset.filter(start_time__gte=self._local_midnight(value))

    def filter_end_date(self, queryset, name, value):
        return queryset.filter(start_time__lt=self._local_midnight(value + timedelta(days=1)))

    def filter_role(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(patient=user) if value == ParticipantRole.PATIENT else queryset.filter(provider=user)
