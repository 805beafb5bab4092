"""Input serializers check shape; output serializers list their fields. No rules live here (see services)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jeghealth_backend.metric_catalog import METRIC_TYPES

from .choices import AlertSeverity, AlertType, DeviceType, HeartbeatStatus
from .models import DeviceAlert, DeviceDataBatch, IoTDevice

MAX_BATCH_READINGS = 5000


class ConfigurationField(serializers.JSONField):
    """A JSON object; its keys and values are checked against the device type by the service."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send a JSON object.")
        return data


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "sampling_interval_seconds": {"type": "integer", "minimum": 1, "maximum": 1209600},
            "metric_types": {
                "type": "array",
                "items": {"type": "string", "enum": list(METRIC_TYPES)},
                "minItems": 1,
                "maxItems": len(METRIC_TYPES),
            },
            "alert_thresholds": {
                "type": "object",
                "maxProperties": len(METRIC_TYPES),
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
            },
        },
        "additionalProperties": False,
    }
)
class DocumentedConfigurationField(ConfigurationField):
    pass


class DeviceSerializer(serializers.ModelSerializer):
    api_key_expires_at = serializers.DateTimeField(
        source="key_expires_at",
        read_only=True,
        allow_null=True,
        help_text="When the current API key stops working (rotate it before); null when keys do not expire.",
    )

    class Meta:
        model = IoTDevice
        fields = [
            "id",
            "name",
            "device_type",
            "manufacturer",
            "model",
            "serial_number",
            "firmware_version",
            "status",
            "is_verified",
            "configuration",
            "last_seen_at",
            "last_used_at",
            "battery_level",
            "signal_strength",
            "api_key_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeviceCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    device_type = serializers.ChoiceField(choices=DeviceType.choices)
    manufacturer = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    model = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    serial_number = serializers.CharField(max_length=120)
    firmware_version = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    configuration = DocumentedConfigurationField(
        required=False,
        default=dict,
        help_text="Validated per device type: `sampling_interval_seconds`, `metric_types`, `alert_thresholds`; "
        "missing keys take the device type's defaults.",
    )


class DeviceUpdateInputSerializer(serializers.Serializer):
    """The owner-editable fields. `device_type` is fixed at pairing (pair a new device to change it)."""

    name = serializers.CharField(max_length=120, required=False)
    manufacturer = serializers.CharField(max_length=120, required=False, allow_blank=True)
    model = serializers.CharField(max_length=120, required=False, allow_blank=True)
    serial_number = serializers.CharField(max_length=120, required=False)
    firmware_version = serializers.CharField(max_length=64, required=False, allow_blank=True)
    configuration = DocumentedConfigurationField(required=False)


class DeviceCreatedSerializer(DeviceSerializer):
    api_key = serializers.CharField(help_text="Shown this once; only its hash is stored.")
    verification_code = serializers.CharField(help_text="The pairing code to enter on the device; shown once.")

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "api_key", "verification_code"]
        read_only_fields = fields


class KeyRotatedSerializer(DeviceSerializer):
    api_key = serializers.CharField(help_text="The new key, shown this once; the old one no longer works.")
    verification_code = serializers.CharField(
        allow_null=True, help_text="A new pairing code for a device not verified yet (null once verified)."
    )

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "api_key", "verification_code"]
        read_only_fields = fields


class ReadingErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the reading in the upload, from 0.")
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


# The API's `batch_id` is the device's own id of the upload (`device_batch_id`); our batch is `id`.
DEVICE_BATCH_ID_HELP = "Chosen by the device; the same batch_id again is a replay."


class BatchSerializer(serializers.ModelSerializer):
    errors = ReadingErrorSerializer(many=True, read_only=True)
    batch_id = serializers.UUIDField(source="device_batch_id", read_only=True, help_text=DEVICE_BATCH_ID_HELP)

    class Meta:
        model = DeviceDataBatch
        fields = [
            "id",
            "device",
            "batch_id",
            "status",
            "received_count",
            "accepted_count",
            "already_stored_count",
            "rejected_count",
            "errors",
            "failure_reason",
            "received_at",
            "started_at",
            "completed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "accepted_count": {"help_text": "Valid readings now stored, including those already stored before."},
            "already_stored_count": {
                "help_text": "Of the accepted ones, how many an earlier overlapping upload had already stored."
            },
        }


class BatchAcceptedSerializer(serializers.ModelSerializer):
    batch_id = serializers.UUIDField(source="device_batch_id", read_only=True, help_text=DEVICE_BATCH_ID_HELP)

    class Meta:
        model = DeviceDataBatch
        fields = ["id", "batch_id", "status", "received_count"]
        read_only_fields = fields


class ReadingInputSerializer(serializers.Serializer):
    """One reading as a device sends it. Checked by the worker with the rules of manual entry, not here."""

    metric_type = serializers.ChoiceField(choices=METRIC_TYPES)
    value = serializers.FloatField(required=False)
    systolic_value = serializers.FloatField(required=False)
    diastolic_value = serializers.FloatField(required=False)
    unit = serializers.CharField(max_length=16, required=False)
    recorded_at = serializers.DateTimeField()
    notes = serializers.CharField(max_length=1000, required=False)
    metadata = serializers.DictField(required=False)


class ReadingsField(serializers.ListField):
    """The readings of an upload: a list of 1 to 5,000 objects, kept as sent.

    Only the envelope is checked at upload (PERFORMANCE.md: a DRF serializer per reading would cost ~27 µs each);
    each reading is validated by the worker with `health_metrics.validation.clean_reading`, and a bad one is
    rejected alone with its index. The child serializer is there for the schema.
    """

    def __init__(self, **kwargs):
        super().__init__(child=ReadingInputSerializer(), min_length=1, max_length=MAX_BATCH_READINGS, **kwargs)

    def to_internal_value(self, data: Any) -> list:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("min_length", min_length=self.min_length)
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return data


class BatchUploadInputSerializer(serializers.Serializer):
    batch_id = serializers.UUIDField(source="device_batch_id", help_text=DEVICE_BATCH_ID_HELP)
    readings = ReadingsField()


class VerifyInputSerializer(serializers.Serializer):
    verification_code = serializers.CharField(max_length=32, trim_whitespace=True)


class VerifiedSerializer(serializers.ModelSerializer):
    class Meta:
        model = IoTDevice
        fields = ["id", "status", "is_verified"]
        read_only_fields = fields


class DeviceConfigSerializer(serializers.ModelSerializer):
    class Meta:
        model = IoTDevice
        fields = ["id", "device_type", "status", "is_verified", "configuration"]
        read_only_fields = fields


class HeartbeatInputSerializer(serializers.Serializer):
    battery_level = serializers.IntegerField(min_value=0, max_value=100, required=False)
    firmware_version = serializers.CharField(max_length=64, required=False, allow_blank=True)
    signal_strength = serializers.IntegerField(
        min_value=-150, max_value=100, required=False, help_text="RSSI in dBm, or a 0-100 quality, as reported."
    )
    status = serializers.ChoiceField(
        choices=HeartbeatStatus.choices,
        required=False,
        help_text="`error` when the device has a fault (raises an `error` alert); `active` when it recovered.",
    )


class HeartbeatSerializer(serializers.ModelSerializer):
    class Meta:
        model = IoTDevice
        fields = ["id", "status", "last_seen_at", "battery_level", "firmware_version", "signal_strength"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    alert_type = serializers.ChoiceField(choices=AlertType.choices, read_only=True)
    severity = serializers.ChoiceField(choices=AlertSeverity.choices, read_only=True)

    class Meta:
        model = DeviceAlert
        fields = ["id", "device", "alert_type", "severity", "message", "created_at", "is_resolved", "resolved_at"]
        read_only_fields = fields
