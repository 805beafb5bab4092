"""Serializer fields shared by the apps, with the OpenAPI shape of what they really accept and answer."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

HOUR_MINUTE_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@extend_schema_field({"type": "string", "pattern": HOUR_MINUTE_PATTERN, "example": "09:00"})
class HourMinuteField(serializers.TimeField):
    """A wall-clock time as 24-hour `HH:MM`, in and out.

    OpenAPI's `format: time` is RFC 3339's full-time (`09:00:00Z`, seconds and an offset), which this field never
    answers nor takes, so the schema says what it does: a string of that pattern.
    """

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset. A time without one is refused: it could be anybody's clock."""

    default_error_messages = {"naive": "Give the time with its UTC offset, e.g. 2025-03-31T09:00:00+02:00."}

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)
