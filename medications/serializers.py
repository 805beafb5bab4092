"""Input serializers check shape and field formats; output serializers list their fields explicitly.

Instants of a person's doses are answered with that person's UTC offset (`LocalDateTimeField`, timezone from the
serializer context `tz`), so 08:00 local reads as 08:00 on both sides of a DST change.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jeghealth_backend.api.fields import AwareDateTimeField

from .choices import DosageUnit, DoseForm, DoseStatus, Frequency, LoggedStatus, Severity
from .models import DoseLog, DrugInteraction, Medication, MedicationCategory, Regimen

hhmm_validator = RegexValidator(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "Use 24-hour HH:MM, e.g. 08:00.")
MAX_RANGE_DAYS = 366


@extend_schema_field(OpenApiTypes.DATETIME)
class LocalDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the offset of the person whose dose this is."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(self.context["tz"]).isoformat()


def money(**kwargs) -> serializers.DecimalField:
    """A quantity answered as a JSON number."""
    return serializers.DecimalField(coerce_to_string=False, **kwargs)


# --- catalog ------------------------------------------------------------------------------------------------


class MedicationCategorySerializer(serializers.ModelSerializer):
    medication_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MedicationCategory
        fields = ["id", "slug", "name", "description", "medication_count"]
        read_only_fields = fields


class MedicationCategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = MedicationCategory
        fields = ["id", "slug", "name"]
        read_only_fields = fields


def _names() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), read_only=True)


class MedicationSerializer(serializers.ModelSerializer):
    category = MedicationCategoryRefSerializer(read_only=True)
    synonyms = _names()
    brand_names = _names()
    additional_classes = _names()
    ingredients = _names()
    forms = serializers.ListField(child=serializers.ChoiceField(choices=DoseForm.choices), read_only=True)
    strengths = _names()

    class Meta:
        model = Medication
        fields = [
            "id",
            "generic_name",
            "synonyms",
            "brand_names",
            "atc_code",
            "category",
            "pharmacological_class",
            "additional_classes",
            "ingredients",
            "forms",
            "strengths",
        ]
        read_only_fields = fields


class DrugInteractionSerializer(serializers.ModelSerializer):
    # A plain string in the schema: many rules cite no URL (""), which `format: uri` would call invalid.
    source_url = serializers.CharField(read_only=True, help_text="The source's URL, or empty.")

    class Meta:
        model = DrugInteraction
        fields = ["id", "a_kind", "a_value", "b_kind", "b_value", "severity", "description", "source", "source_url"]
        read_only_fields = fields


class InteractionFindingSerializer(serializers.Serializer):
    medications = serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2)
    severity = serializers.ChoiceField(choices=Severity.choices)
    description = serializers.CharField()
    source = serializers.CharField()
    source_url = serializers.CharField(allow_blank=True)
    matched_on = serializers.ListField(
        child=serializers.CharField(), help_text='What matched each medication, e.g. "class: NSAID".'
    )


class InteractionWarningSerializer(InteractionFindingSerializer):
    regimen = serializers.UUIDField(help_text="The other active regimen this one interacts with.")


class InteractionCheckInputSerializer(serializers.Serializer):
    medications = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=True),
        min_length=2,
        max_length=50,
        help_text="Catalog ids or names (generic or brand, any case).",
    )


class InteractionCheckSerializer(serializers.Serializer):
    interactions = InteractionFindingSerializer(many=True)
    unmatched = serializers.ListField(
        child=serializers.CharField(), help_text="Names not found in the catalog (checked as ingredients)."
    )


# --- regimens -----------------------------------------------------------------------------------------------


class RegimenInputSerializer(serializers.Serializer):
    medication = serializers.PrimaryKeyRelatedField(
        queryset=Medication.objects.all(), required=False, allow_null=True, help_text="A catalog id."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    dosage = money(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    dosage_unit = serializers.ChoiceField(choices=DosageUnit.choices)
    form = serializers.ChoiceField(choices=DoseForm.choices, required=False)
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    interval_hours = serializers.IntegerField(min_value=1, max_value=24, required=False, allow_null=True)
    days_of_week = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        max_length=7,
        help_text="Weekly only: 0 is Monday.",
    )
    schedule_times = serializers.ListField(
        child=serializers.CharField(validators=[hhmm_validator]),
        required=False,
        max_length=24,
        help_text='Local times, e.g. ["08:00", "20:00"]; defaults follow the frequency.',
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    quantity_remaining = money(max_digits=10, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True)
    quantity_per_dose = money(max_digits=8, decimal_places=2, min_value=Decimal("0.01"), required=False)
    refill_threshold = money(max_digits=10, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True)


class PrescriptionInputSerializer(RegimenInputSerializer):
    patient = serializers.UUIDField(help_text="The patient's user id.")


class PrescriberSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")


class RegimenSerializer(serializers.ModelSerializer):
    medication = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    dosage = money(max_digits=10, decimal_places=3, read_only=True)
    quantity_remaining = money(max_digits=10, decimal_places=2, read_only=True, allow_null=True)
    quantity_per_dose = money(max_digits=8, decimal_places=2, read_only=True)
    refill_threshold = money(max_digits=10, decimal_places=2, read_only=True, allow_null=True)
    days_of_week = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    schedule_times = serializers.ListField(child=serializers.CharField(), read_only=True)
    prescribed_by = PrescriberSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Regimen
        fields = [
            "id",
            "medication",
            "name",
            "dosage",
            "dosage_unit",
            "form",
            "frequency",
            "interval_hours",
            "days_of_week",
            "schedule_times",
            "start_date",
            "end_date",
            "instructions",
            "quantity_remaining",
            "quantity_per_dose",
            "refill_threshold",
            "prescribed_by",
            "is_active",
            "ended_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RegimenWithWarningsSerializer(RegimenSerializer):
    interaction_warnings = InteractionWarningSerializer(many=True, read_only=True)

    class Meta(RegimenSerializer.Meta):
        fields = [*RegimenSerializer.Meta.fields, "interaction_warnings"]
        read_only_fields = fields


# --- doses --------------------------------------------------------------------------------------------------


class DoseDayQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="A local date of the person; today when omitted.")


class AdherenceRangeQuerySerializer(serializers.Serializer):
    start_date = serializers.DateField(required=False, help_text="Local date, included; 30 days before end_date.")
    end_date = serializers.DateField(required=False, help_text="Local date, included; today when omitted.")

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": ["The end date cannot be before the start date."]})
        if start and end and (end - start) >= timedelta(days=MAX_RANGE_DAYS):
            raise serializers.ValidationError({"end_date": [f"A range covers at most {MAX_RANGE_DAYS} days."]})
        return attrs


class DoseSerializer(serializers.Serializer):
    regimen = serializers.UUIDField(source="regimen_id")
    medication_name = serializers.CharField()
    dosage = money(max_digits=10, decimal_places=3, source="regimen.dosage")
    dosage_unit = serializers.CharField(source="regimen.dosage_unit")
    scheduled_for = LocalDateTimeField()
    status = serializers.ChoiceField(choices=DoseStatus.choices)
    taken_at = LocalDateTimeField(allow_null=True)
    as_needed = serializers.BooleanField()
    log = serializers.UUIDField(source="log_id", allow_null=True)


class DoseLogInputSerializer(serializers.Serializer):
    scheduled_for = AwareDateTimeField(help_text="The dose's scheduled time (for as-needed: when it was taken).")
    status = serializers.ChoiceField(choices=LoggedStatus.choices)
    taken_at = AwareDateTimeField(required=False, allow_null=True)


class DoseLogSerializer(serializers.ModelSerializer):
    medication_name = serializers.CharField(source="regimen.name", read_only=True)
    scheduled_for = LocalDateTimeField(read_only=True)
    taken_at = LocalDateTimeField(read_only=True, allow_null=True)
    as_needed = serializers.SerializerMethodField()
    quantity_remaining = money(
        max_digits=10, decimal_places=2, source="regimen.quantity_remaining", read_only=True, allow_null=True
    )

    class Meta:
        model = DoseLog
        fields = [
            "id",
            "regimen",
            "medication_name",
            "scheduled_for",
            "status",
            "taken_at",
            "as_needed",
            "quantity_remaining",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_as_needed(self, log: DoseLog) -> bool:
        return not log.scheduled


# --- adherence ----------------------------------------------------------------------------------------------


class AdherenceTallySerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    taken = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="0-100; null when no dose counted.")


class RegimenAdherenceSerializer(AdherenceTallySerializer):
    regimen = serializers.UUIDField()
    medication_name = serializers.CharField()


class AdherenceSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    overall = AdherenceTallySerializer()
    regimens = RegimenAdherenceSerializer(many=True)


class AdherenceCountsSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    taken = serializers.IntegerField()
    skipped = serializers.IntegerField()
    missed = serializers.IntegerField()
    pending = serializers.IntegerField()
    as_needed_taken = serializers.IntegerField()


class MissedDoseTimeSerializer(serializers.Serializer):
    time = serializers.CharField(help_text="Local HH:MM.")
    missed = serializers.IntegerField()


class AdherenceStatisticsSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    counts = AdherenceCountsSerializer()
    percent = serializers.FloatField(allow_null=True)
    current_streak_days = serializers.IntegerField()
    longest_streak_days = serializers.IntegerField()
    fully_adherent_days = serializers.IntegerField()
    days_with_doses = serializers.IntegerField()
    most_missed_times = MissedDoseTimeSerializer(many=True)
