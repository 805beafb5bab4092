"""Input serializers check the shape of a request; output serializers list every field they answer.

A reading's own fields are validated by `validation.clean_reading`, the function IoT ingestion runs too: the
reading input serializers pass them through untouched (`Raw…` fields) and only document them for the schema.
"""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jeghealth_backend.metric_catalog import METRIC_TYPE_CHOICES, METRIC_TYPES

from .fields import READING_FIELDS
from .models import (
    DayBasis,
    HealthMetric,
    HealthMetricTarget,
    ImportFormat,
    ImportJob,
    ImportStatus,
    Period,
    Quality,
    TargetType,
)
from .services import BULK_MAX_ITEMS
from .validation import METADATA_MAX_KEYS, NOTES_MAX_LENGTH

# The widest plausible range over all types (steps per reading reach 100,000); each type's own is narrower.
VALUE_MIN, VALUE_MAX = 0, 100_000
TARGET_MAX = 10_000_000


class _Raw(serializers.Field):
    """Passes the JSON value through unchanged for `clean_reading` to judge."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(serializers.ChoiceField(choices=METRIC_TYPE_CHOICES))
class RawMetricType(_Raw):
    pass


@extend_schema_field({"type": "number", "minimum": VALUE_MIN, "maximum": VALUE_MAX, "nullable": True})
class RawNumber(_Raw):
    pass


@extend_schema_field({"type": "string", "maxLength": 16, "nullable": True})
class RawUnit(_Raw):
    pass


@extend_schema_field({"type": "string", "format": "date-time"})
class RawDateTime(_Raw):
    pass


@extend_schema_field({"type": "string", "maxLength": NOTES_MAX_LENGTH})
class RawNotes(_Raw):
    pass


@extend_schema_field({"type": "object", "additionalProperties": {}, "maxProperties": METADATA_MAX_KEYS})
class RawMetadata(_Raw):
    pass


@extend_schema_field({"type": "boolean"})
class RawBoolean(_Raw):
    pass


@extend_schema_field({"type": "string", "format": "uuid", "nullable": True})
class RawUUID(_Raw):
    pass


class HealthMetricInputSerializer(serializers.Serializer):
    """A reading as the app sends it. `value` for every type but blood pressure, which takes
    `systolic_value` and `diastolic_value`; `unit` defaults to the type's canonical unit; `recorded_at` must
    carry a UTC offset and may be at most 5 minutes ahead of the server."""

    metric_type = RawMetricType()
    value = RawNumber(required=False)
    systolic_value = RawNumber(required=False)
    diastolic_value = RawNumber(required=False)
    unit = RawUnit(required=False)
    recorded_at = RawDateTime()
    ended_at = RawDateTime(
        required=False, help_text="Steps, calories, sleep_hours only: the end of the interval (within 24 hours)."
    )
    is_manual_entry = RawBoolean(required=False)
    notes = RawNotes(required=False)
    metadata = RawMetadata(required=False, help_text="A JSON object: at most 50 keys, 3 levels, 4 KiB.")
    client_record_id = RawUUID(
        required=False, help_text="A UUID made by the app for offline sync: sending it again stores nothing twice."
    )


class HealthMetricUpdateSerializer(serializers.Serializer):
    """The fields a PATCH may change. New values are judged like a new reading; `quality: ok` confirms a
    suspect reading. A device's reading keeps its values."""

    metric_type = RawMetricType(required=False, help_text="Cannot change; sending another type is refused.")
    value = RawNumber(required=False)
    systolic_value = RawNumber(required=False)
    diastolic_value = RawNumber(required=False)
    unit = RawUnit(required=False)
    recorded_at = RawDateTime(required=False)
    is_manual_entry = serializers.BooleanField(required=False)
    notes = RawNotes(required=False)
    metadata = RawMetadata(required=False)
    quality = serializers.ChoiceField(choices=Quality.choices, required=False)


@extend_schema_field(HealthMetricInputSerializer)
class RawReading(_Raw):
    pass


class HealthMetricBulkInputSerializer(serializers.Serializer):
    metrics = serializers.ListField(child=RawReading(), min_length=1, max_length=BULK_MAX_ITEMS)


class HealthMetricSerializer(serializers.ModelSerializer):
    device = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="The device's id, or null.")

    class Meta:
        model = HealthMetric
        fields = list(READING_FIELDS)
        read_only_fields = fields

    def to_representation(self, instance: HealthMetric) -> dict:
        # The same answer as ModelSerializer's, built directly: lists and bulk answers hold up to 1,000
        # readings, and DRF's per-field machinery costs about as much as inserting them.
        # test_serializers.py holds it to the declared fields and to DRF's own output.
        return {
            "id": str(instance.id),
            "metric_type": instance.metric_type,
            "value": instance.value,
            "systolic_value": instance.systolic_value,
            "diastolic_value": instance.diastolic_value,
            "unit": instance.unit,
            "entered_value": instance.entered_value,
            "entered_unit": instance.entered_unit,
            "recorded_at": _iso(instance.recorded_at),
            "recorded_offset_minutes": instance.recorded_offset_minutes,
            "ended_at": _iso(instance.ended_at) if instance.ended_at else None,
            "source": instance.source,
            "source_name": instance.source_name,
            "device": str(instance.device_id) if instance.device_id else None,
            "is_manual_entry": instance.is_manual_entry,
            "quality": instance.quality,
            "is_anomaly": instance.is_anomaly,
            "anomaly_reason": instance.anomaly_reason,
            "notes": instance.notes,
            "metadata": instance.metadata,
            "client_record_id": str(instance.client_record_id) if instance.client_record_id else None,
            "created_at": _iso(instance.created_at),
        }


def _iso(moment) -> str:
    """DRF's DateTimeField output: ISO 8601 in UTC with a `Z`."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class HealthMetricBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(min_value=0, max_value=BULK_MAX_ITEMS, help_text="Readings newly stored.")
    results = HealthMetricSerializer(many=True, help_text="One per item, in order; a replayed item's stored reading.")


class HealthMetricLatestSerializer(serializers.Serializer):
    """`{"<metric_type>": <reading>}` for each type that has a reading."""

    def get_fields(self):
        return {t: HealthMetricSerializer(required=False) for t in METRIC_TYPES}


# --- summary and trends -------------------------------------------------------------------------------


class MetricSummaryQuerySerializer(serializers.Serializer):
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    period = serializers.ChoiceField(choices=Period.choices, default=Period.DAILY)
    start_date = serializers.DateField(required=False, help_text="Local date, included. Default: a span per period.")
    end_date = serializers.DateField(required=False, help_text="Local date, included. Default: today.")
    day_basis = serializers.ChoiceField(
        choices=DayBasis.choices,
        default=DayBasis.PROFILE,
        help_text="`profile`: days of the profile timezone; `recorded`: each reading on its own local date.",
    )


class MetricStatsSerializer(serializers.Serializer):
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    avg = serializers.FloatField(allow_null=True)


class _OmitMissing(serializers.Serializer):
    """Answers only the keys the data holds: blood pressure answers `systolic`/`diastolic` *instead of* the
    single-value fields, not beside them as nulls."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if key in instance}


class MetricSummaryBucketSerializer(_OmitMissing):
    period_start = serializers.DateField(help_text="First local day of the period (weeks start on Monday).")
    count = serializers.IntegerField(min_value=1)
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    avg = serializers.FloatField(required=False, allow_null=True)
    systolic = MetricStatsSerializer(required=False, help_text="Blood pressure only, instead of min, max, avg.")
    diastolic = MetricStatsSerializer(required=False, help_text="Blood pressure only, instead of min, max, avg.")


class MetricSummarySerializer(serializers.Serializer):
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    period = serializers.ChoiceField(choices=Period.choices)
    unit = serializers.CharField(max_length=16)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    timezone = serializers.CharField(max_length=64, help_text="The profile timezone the calendar is in.")
    day_basis = serializers.ChoiceField(choices=DayBasis.choices)
    buckets = MetricSummaryBucketSerializer(many=True)


class MetricTrendsQuerySerializer(serializers.Serializer):
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class MetricTrendPeriodSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    avg = serializers.FloatField(
        allow_null=True, help_text="Average reading; for steps, calories, sleep the average daily total."
    )


class MetricMovingAverageSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = serializers.FloatField(allow_null=True, help_text="The day's total (steps, calories, sleep) or average.")
    average_7d = serializers.FloatField(
        allow_null=True, help_text="Mean of the daily values of this day and the 6 before."
    )


class MetricTrendSeriesSerializer(serializers.Serializer):
    current = MetricTrendPeriodSerializer()
    previous = MetricTrendPeriodSerializer()
    change = serializers.FloatField(allow_null=True, help_text="current.avg - previous.avg")
    change_percent = serializers.FloatField(allow_null=True)
    slope_per_day = serializers.FloatField(allow_null=True, help_text="Least-squares slope of the daily values.")
    moving_average = MetricMovingAverageSerializer(many=True)


class MetricTrendsSerializer(_OmitMissing):
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    unit = serializers.CharField(max_length=16)
    days = serializers.IntegerField(min_value=1, max_value=365)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    previous_start_date = serializers.DateField()
    current = MetricTrendPeriodSerializer(required=False)
    previous = MetricTrendPeriodSerializer(required=False)
    change = serializers.FloatField(required=False, allow_null=True)
    change_percent = serializers.FloatField(required=False, allow_null=True)
    slope_per_day = serializers.FloatField(required=False, allow_null=True)
    moving_average = MetricMovingAverageSerializer(many=True, required=False)
    systolic = MetricTrendSeriesSerializer(
        required=False, help_text="Blood pressure only, instead of the fields above."
    )
    diastolic = MetricTrendSeriesSerializer(
        required=False, help_text="Blood pressure only, instead of the fields above."
    )


# --- targets --------------------------------------------------------------------------------------------


class MetricTargetInputSerializer(serializers.Serializer):
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_value = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=TARGET_MAX)
    min_value = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=TARGET_MAX)
    max_value = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=TARGET_MAX)
    period = serializers.ChoiceField(choices=Period.choices, default=Period.DAILY)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)


class MetricTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthMetricTarget
        fields = [
            "id",
            "metric_type",
            "target_type",
            "target_value",
            "min_value",
            "max_value",
            "period",
            "start_date",
            "end_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MetricTargetProgressPeriodSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    value = serializers.FloatField(allow_null=True)
    met = serializers.BooleanField()


class MetricTargetProgressSerializer(serializers.Serializer):
    target = MetricTargetSerializer()
    periods = MetricTargetProgressPeriodSerializer(many=True)
    periods_met = serializers.IntegerField(min_value=0)
    periods_total = serializers.IntegerField(min_value=0)
    current_streak = serializers.IntegerField(min_value=0)


# --- sources --------------------------------------------------------------------------------------------

SOURCE_KEY_PATTERN = r"^(manual|device:[0-9a-fA-F-]{32,36}|import:.{1,128})$"
SOURCES_MAX = 50


class SourcePrioritySerializer(serializers.Serializer):
    """`{"<metric_type>": ["<source key>", …]}`, best first: `device:<device id>`, `import:<source name>`,
    `manual`. A PUT names the types it orders; sources it leaves out follow in the default order."""

    def get_fields(self):
        return {
            t: serializers.ListField(
                child=serializers.RegexField(SOURCE_KEY_PATTERN, max_length=136),
                max_length=SOURCES_MAX,
                required=False,
            )
            for t in METRIC_TYPES
        }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(METRIC_TYPES))
            if unknown:
                raise serializers.ValidationError({name: ["Not a metric type."] for name in unknown})
        values = super().to_internal_value(data)
        errors = {t: ["Each source may be named once."] for t, keys in values.items() if len(set(keys)) != len(keys)}
        if errors:
            raise serializers.ValidationError(errors)
        if not values:
            raise serializers.ValidationError({"non_field_errors": ["Name at least one metric type."]})
        return values


# --- delta sync -----------------------------------------------------------------------------------------


class ChangesQuerySerializer(serializers.Serializer):
    since = serializers.CharField(required=False, max_length=512, help_text="The cursor of the previous answer.")


class ChangeSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["upsert", "delete"])
    id = serializers.UUIDField()
    reading = HealthMetricSerializer(required=False, help_text="The reading as it is now (upserts only).")


class ChangesSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True)
    cursor = serializers.CharField(help_text="Opaque: pass it as `since` next time.")
    has_more = serializers.BooleanField()


# --- imports --------------------------------------------------------------------------------------------


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="export.zip or export.xml (apple_health), a JSON file (fhir, health_connect)."
    )
    format = serializers.ChoiceField(choices=ImportFormat.choices)


class ImportErrorSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1, help_text="The record's place in the file, from 1.")
    code = serializers.CharField()
    message = serializers.CharField()


class ImportAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ImportStatus.choices)


class ImportSerializer(serializers.ModelSerializer):
    errors = ImportErrorSerializer(many=True, help_text="Refused records, at most 100.")
    counts_by_type = serializers.DictField(child=serializers.IntegerField(min_value=0))

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "format",
            "status",
            "created_count",
            "duplicate_count",
            "skipped_count",
            "counts_by_type",
            "errors",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
