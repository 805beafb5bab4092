"""The reading serializer builds its answer by hand for speed: it must stay DRF's answer, field for field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest
from rest_framework import serializers

from health_metrics.serializers import HealthMetricSerializer
from iot_devices.models import IoTDevice
from jeghealth_backend.api.renderers import JSONRenderer
from tests.health_metrics.factories import BloodPressureFactory, HealthMetricFactory

pytestmark = pytest.mark.django_db


class PlainDRF(HealthMetricSerializer):
    def to_representation(self, instance):
        return serializers.ModelSerializer.to_representation(self, instance)


def test_it_answers_exactly_the_declared_fields():
    reading = HealthMetricFactory()
    assert list(HealthMetricSerializer(reading).data) == HealthMetricSerializer.Meta.fields


@pytest.mark.parametrize("kind", ["manual", "device", "blood_pressure"])
def test_it_answers_what_drf_would(user_a, kind):
    if kind == "device":
        device = IoTDevice.objects.create(owner=user_a, name="Watch", device_type="smartwatch", serial_number="S")
        reading = HealthMetricFactory(user=user_a, source="device", device=device, metadata={"fw": "1.2"})
    elif kind == "blood_pressure":
        reading = BloodPressureFactory(user=user_a, client_record_id=uuid.uuid4(), notes="arm")
    else:
        reading = HealthMetricFactory(user=user_a, recorded_at=datetime(2025, 7, 24, 12, 0, 0, 123456, tzinfo=UTC))
    reading.refresh_from_db()
    assert as_json(HealthMetricSerializer(reading).data) == as_json(PlainDRF(reading).data)


def as_json(data) -> dict:
    return orjson.loads(JSONRenderer().render(data))
