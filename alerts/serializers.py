"""Input and output shapes of alerts: episodes (API.md "Alerts") and the person's own thresholds."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jeghealth_backend.metric_catalog import METRIC_TYPE_CHOICES

from .choices import DEVICE_RULES, Severity
from .models import BLOOD_PRESSURE, AlertEpisode, AlertThreshold

# Far outside any physiological value of any metric type, and far inside what a float column holds.
BOUND = {"required": False, "allow_null": True, "min_value": -1_000_000, "max_value": 1_000_000}


class PersonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()


class WorstReadingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    value = serializers.FloatField(required=False)
    systolic_value = serializers.FloatField(required=False)
    diastolic_value = serializers.FloatField(required=False)
    unit = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class SubjectSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["device", "regimen"])
    id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True)


class AlertEpisodeSerializer(serializers.ModelSerializer):
    metric_type = serializers.SerializerMethodField()
    worst = serializers.SerializerMethodField()
    acknowledged_by = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField(help_text="The device or regimen a device or dose rule is about.")

    class Meta:
        model = AlertEpisode
        fields = [
            "id",
            "rule",
            "metric_type",
            "subject",
            "severity",
            "status",
            "opened_at",
            "closed_at",
            "reading_count",
            "worst",
            "last_reading_at",
            "acknowledged_by",
            "acknowledged_at",
            "escalated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=METRIC_TYPE_CHOICES, allow_null=True))
    def get_metric_type(self, episode: AlertEpisode) -> str | None:
        return episode.metric_type or None

    @extend_schema_field(WorstReadingSerializer(allow_null=True))
    def get_worst(self, episode: AlertEpisode) -> dict | None:
        return episode.worst

    @extend_schema_field(PersonRefSerializer(allow_null=True))
    def get_acknowledged_by(self, episode: AlertEpisode) -> dict | None:
        if episode.acknowledged_at is None:
            return None
        return {"id": episode.acknowledged_by_id, "name": episode.acknowledged_by_name}

    @extend_schema_field(SubjectSerializer(allow_null=True))
    def get_subject(self, episode: AlertEpisode) -> dict | None:
        if not episode.subject_key:
            return None
        kind = "device" if episode.rule in DEVICE_RULES else "regimen"
        return {"type": kind, "id": episode.subject_key, "name": episode.subject_label}


class AlertEpisodeDetailSerializer(AlertEpisodeSerializer):
    readings = serializers.SerializerMethodField(help_text="Ids of the readings it holds, newest first, at most 100.")

    class Meta(AlertEpisodeSerializer.Meta):
        fields = [*AlertEpisodeSerializer.Meta.fields, "readings"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_readings(self, episode: AlertEpisode) -> list[str]:
        return self.context["reading_ids"]


class AlertThresholdSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertThreshold
        fields = [
            "id",
            "metric_type",
            "min_value",
            "max_value",
            "diastolic_min_value",
            "diastolic_max_value",
            "severity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AlertThresholdInputSerializer(serializers.Serializer):
    """Bounds in the metric's canonical unit; for blood pressure min/max bound the systolic value."""

    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    min_value = serializers.FloatField(**BOUND)
    max_value = serializers.FloatField(**BOUND)
    diastolic_min_value = serializers.FloatField(**BOUND, help_text="Blood pressure only.")
    diastolic_max_value = serializers.FloatField(**BOUND, help_text="Blood pressure only.")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.WARNING)

    def validate(self, attrs: dict) -> dict:
        fields = ["metric_type", "min_value", "max_value", "diastolic_min_value", "diastolic_max_value"]
        merged = _merged(self.instance, attrs, fields)
        errors: dict[str, list[str]] = {}
        if merged["metric_type"] != BLOOD_PRESSURE:
            for name in ("diastolic_min_value", "diastolic_max_value"):
                if merged[name] is not None:
                    errors[name] = ["Only blood pressure thresholds have diastolic bounds."]
        if all(merged[name] is None for name in fields[1:]):
            errors["non_field_errors"] = ["Give at least one bound (min_value or max_value)."]
        for low, high in (("min_value", "max_value"), ("diastolic_min_value", "diastolic_max_value")):
            if merged[low] is not None and merged[high] is not None and merged[low] >= merged[high]:
                errors[low] = [f"Must be below {high}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _merged(instance: Any, attrs: dict, names: list[str]) -> dict:
    """The values a partial update would leave: the request's where given, the stored ones otherwise."""
    return {name: attrs[name] if name in attrs else getattr(instance, name, None) for name in names}
