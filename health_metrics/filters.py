"""Filters of the reading lists. `start_date`/`end_date` take a local date of the person's calendar (whole
days, both included) or an ISO 8601 date-time with offset (that instant)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from accounts.access import subject_for
from jeghealth_backend.metric_catalog import METRIC_TYPE_CHOICES

from .models import HealthMetric, Source
from .periods import local_midnight
from .validation import parse_recorded_at


class DateOrDateTimeField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        if len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        moment = parse_recorded_at(value)
        if moment is None:
            raise forms.ValidationError("Use a date (YYYY-MM-DD) or a date-time with a UTC offset.")
        return moment


class StrictBooleanField(forms.NullBooleanField):
    """`true`/`false` (or 1/0); anything else is a 400, not silently "no filter"."""

    widget = forms.TextInput
    _VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self._VALUES[str(value).lower()]
        except KeyError:
            raise forms.ValidationError("Use true or false.") from None

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field({"type": "string", "description": "YYYY-MM-DD (local day) or ISO 8601 date-time with offset"})
class DateOrDateTimeFilter(django_filters.Filter):
    field_class = DateOrDateTimeField


class ReadingFilter(django_filters.FilterSet):
    metric_type = django_filters.ChoiceFilter(choices=METRIC_TYPE_CHOICES)
    source = django_filters.ChoiceFilter(choices=Source.choices)
    device = django_filters.UUIDFilter(field_name="device_id")
    is_anomaly = StrictBooleanFilter()
    start_date = DateOrDateTimeFilter(method="filter_start_date")
    end_date = DateOrDateTimeFilter(method="filter_end_date")

    class Meta:
        model = HealthMetric
        fields = ["metric_type", "source", "device", "is_anomaly"]

    def filter_start_date(self, queryset, name, value):
        if isinstance(value, datetime):
            return queryset.filter(recorded_at__gte=value)
        return queryset.filter(recorded_at__gte=local_midnight(value, self._tz()))

    def filter_end_date(self, queryset, name, value):
        if isinstance(value, datetime):
            return queryset.filter(recorded_at__lte=value)
        return queryset.filter(recorded_at__lt=local_midnight(value + timedelta(days=1), self._tz()))

    def _tz(self):
        # Local days of the person whose readings these are: a doctor's `patient=` means the patient's calendar.
        return subject_for(self.request, scope="health_metrics").profile.tzinfo
