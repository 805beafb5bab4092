"""Serializer fields shared by the apps, with the OpenAPI shape of what they really accept and answer."""

from __future__ import annotations

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
