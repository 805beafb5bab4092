"""Input serializers (shape and field checks only; the rules are in services) and output serializers with
explicit fields."""

from __future__ import annotations

import itertools
import zoneinfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jeghealth_backend.api.fields import AwareDateTimeField, HourMinuteField

from .choices import AppointmentType, CancelScope, ParticipantRole
from .models import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES, Appointment, AppointmentReschedule, ProviderProfile
from .recurrence import MAX_RULE_LENGTH
from .scheduling import MAX_DAYS_OFF, MAX_WORKING_HOURS_ENTRIES

REASON_MAX_LENGTH = 2000


# --- providers ---------------------------------------------------------------------------------------------


class WorkingHoursEntrySerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday, 6 is Sunday.")
    start = HourMinuteField(help_text="HH:MM, provider's time.")
    end = HourMinuteField(help_text="HH:MM, after start.")

    def validate(self, attrs):
        # A PATCH of the profile is partial (DRF passes that down to the entries), an entry never is: each one is
        # a whole span, and one without its start or end must be a 400, not a KeyError.
        missing = sorted({"weekday", "start", "end"} - set(attrs))
        if missing:
            raise serializers.ValidationError(
                {name: [self.fields[name].error_messages["required"]] for name in missing}
            )
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": ["The end is after the start, on the same day."]})
        return attrs


class ProviderSummarySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(
        source="doctor_id", read_only=True, help_text="The doctor's id: `provider` when booking."
    )
    name = serializers.CharField(source="doctor.full_name", read_only=True)

    class Meta:
        model = ProviderProfile
        fields = ["id", "name", "specialty", "clinic_name", "consultation_minutes"]
        read_only_fields = fields


class ProviderProfileSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(
        source="doctor_id", read_only=True, help_text="The doctor's id: `provider` when booking."
    )
    name = serializers.CharField(source="doctor.full_name", read_only=True)
    working_hours = WorkingHoursEntrySerializer(many=True, read_only=True)
    days_off = serializers.ListField(child=serializers.DateField(), read_only=True)

    class Meta:
        model = ProviderProfile
        fields = [
            "id",
            "name",
            "specialty",
            "clinic_name",
            "clinic_address",
            "consultation_minutes",
            "timezone",
            "working_hours",
            "days_off",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProviderProfileInputSerializer(serializers.Serializer):
    specialty = serializers.CharField(max_length=120, allow_blank=True, required=False)
    clinic_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    clinic_address = serializers.CharField(max_length=500, allow_blank=True, required=False)
    consultation_minutes = serializers.IntegerField(
        min_value=MIN_DURATION_MINUTES, max_value=MAX_DURATION_MINUTES, required=False
    )
    timezone = serializers.CharField(max_length=64, required=False, help_text="IANA name, e.g. Europe/Berlin.")
    working_hours = WorkingHoursEntrySerializer(many=True, required=False, max_length=MAX_WORKING_HOURS_ENTRIES)
    days_off = serializers.ListField(child=serializers.DateField(), required=False, max_length=MAX_DAYS_OFF)

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Not an IANA time zone name.")
        return value

    def validate_working_hours(self, value: list[dict]) -> list[dict]:
        entries = sorted(value, key=lambda e: (e["weekday"], e["start"]))
        for previous, current in itertools.pairwise(entries):
            if previous["weekday"] == current["weekday"] and current["start"] < previous["end"]:
                raise serializers.ValidationError("Working hours of one weekday overlap.")
        return [
            {"weekday": e["weekday"], "start": e["start"].strftime("%H:%M"), "end": e["end"].strftime("%H:%M")}
            for e in entries
        ]

    def validate_days_off(self, value: list) -> list[str]:
        return sorted({day.isoformat() for day in value})


class ProviderScheduleInputSerializer(ProviderProfileInputSerializer):
    """What a clinic admin changes of a doctor member's profile: when they see patients (the rest is ignored)."""

    SCHEDULE_FIELDS = ("working_hours", "days_off")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        return {name: value for name, value in attrs.items() if name in self.SCHEDULE_FIELDS}


class AvailabilityQuerySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A day of the provider's calendar, YYYY-MM-DD.")


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class AvailabilitySerializer(serializers.Serializer):
    date = serializers.DateField()
    timezone = serializers.CharField(help_text="The provider's time zone; slot times carry its offset.")
    consultation_minutes = serializers.IntegerField()
    slots = SlotSerializer(many=True)


# --- appointments ------------------------------------------------------------------------------------------


class AppointmentCreateInputSerializer(serializers.Serializer):
    provider = serializers.UUIDField(help_text="A provider's `id` from providers/.")
    patient = serializers.UUIDField(
        required=False,
        help_text="Staff or a clinic admin acting for a patient of their clinic (whose grant to it covers "
        "`appointments`); 404 for anyone else.",
    )
    start_time = AwareDateTimeField()
    duration_minutes = serializers.IntegerField(
        min_value=MIN_DURATION_MINUTES,
        max_value=MAX_DURATION_MINUTES,
        required=False,
        help_text="Default: the provider's consultation length.",
    )
    appointment_type = serializers.ChoiceField(choices=AppointmentType.choices)
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, required=False, default="")
    recurrence = serializers.CharField(
        max_length=MAX_RULE_LENGTH,
        required=False,
        help_text="An RFC 5545 RRULE, e.g. `FREQ=WEEKLY;INTERVAL=4;COUNT=6`: FREQ WEEKLY or MONTHLY, COUNT of at "
        "most 52 or UNTIL within a year. Books `start_time` and every later occurrence (each an appointment with "
        "`series`), at the same wall-clock time of the provider's zone, or nothing.",
    )


class AppointmentUpdateInputSerializer(serializers.Serializer):
    """PATCH: the patient's `reason` or the doctor's `notes`; status and times have their own actions."""

    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, required=False)
    notes = serializers.CharField(max_length=REASON_MAX_LENGTH * 5, allow_blank=True, required=False)

    LIFECYCLE_FIELDS = {
        "status": "Change the status with confirm/, complete/, no-show/ or cancel/.",
        "start_time": "Move the appointment with reschedule/.",
        "end_time": "Move the appointment with reschedule/.",
        "duration_minutes": "The length of a booked appointment does not change.",
        "provider": "Cancel and book with the other provider.",
        "patient": "An appointment belongs to its patient.",
        "appointment_type": "Cancel and book again with the other type.",
    }

    def validate(self, attrs):
        refused = {name: [message] for name, message in self.LIFECYCLE_FIELDS.items() if name in self.initial_data}
        if refused:
            raise serializers.ValidationError(refused)
        return attrs


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, required=False, default="")
    patient = serializers.UUIDField(
        required=False,
        help_text="Staff or a clinic admin acting for a patient of their clinic (whose grant to it covers "
        "`appointments`); 404 for anyone else.",
    )
    scope = serializers.ChoiceField(
        choices=CancelScope.choices,
        required=False,
        default=CancelScope.THIS,
        help_text="`following`: cancel this appointment and every later occurrence of its series.",
    )


class RescheduleInputSerializer(serializers.Serializer):
    start_time = AwareDateTimeField(help_text="The new start; the length stays the same.")
    patient = serializers.UUIDField(
        required=False,
        help_text="Staff or a clinic admin acting for a patient of their clinic (whose grant to it covers "
        "`appointments`); 404 for anyone else.",
    )


class RescheduleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppointmentReschedule
        fields = [
            "previous_start_time",
            "previous_end_time",
            "new_start_time",
            "new_end_time",
            "rescheduled_by",
            "created_at",
        ]
        read_only_fields = fields


class AppointmentSerializer(serializers.ModelSerializer):
    """An appointment. Its video room (`meeting_url`, and the `location` of a telemedicine appointment) is a key to
    the consultation: only the patient and the provider see it; anyone reading through a grant gets "".
    """

    # The viewer is `context["request"].user`; without a request in the context the room is hidden too.

    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    provider_name = serializers.SerializerMethodField(
        help_text="The provider's name; kept when their account is deleted (`provider` is then null)."
    )
    provider_timezone = serializers.SerializerMethodField()
    duration_minutes = serializers.IntegerField(read_only=True)
    location = serializers.SerializerMethodField()
    reschedules = RescheduleSerializer(many=True, read_only=True)
    series = serializers.UUIDField(
        source="series_id", read_only=True, allow_null=True, help_text="The recurring series; null for a single one."
    )
    # Not `format: uri`: in-person and phone appointments answer an empty string.
    meeting_url = serializers.SerializerMethodField(
        help_text="The video room of a telemedicine appointment, for its patient and provider only; empty for the "
        "other types and for anyone else."
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "patient_name",
            "provider",
            "provider_name",
            "provider_timezone",
            "start_time",
            "end_time",
            "duration_minutes",
            "appointment_type",
            "status",
            "reason",
            "notes",
            "location",
            "meeting_url",
            "cancellation_reason",
            "cancelled_by",
            "confirmed_at",
            "completed_at",
            "no_show_at",
            "cancelled_at",
            "created_at",
            "updated_at",
            "series",
            "reschedules",
        ]
        read_only_fields = fields

    @staticmethod
    def _profile(appointment: Appointment) -> ProviderProfile | None:
        if appointment.provider is None:
            return None
        try:
            return appointment.provider.provider_profile
        except ProviderProfile.DoesNotExist:
            return None

    @extend_schema_field(OpenApiTypes.STR)
    def get_provider_name(self, appointment: Appointment) -> str:
        return appointment.provider_display_name

    @extend_schema_field(OpenApiTypes.STR)
    def get_provider_timezone(self, appointment: Appointment) -> str:
        profile = self._profile(appointment)
        return profile.timezone if profile is not None else "UTC"

    def _is_party(self, appointment: Appointment) -> bool:
        request = self.context.get("request")
        viewer_id = getattr(getattr(request, "user", None), "pk", None)
        return viewer_id is not None and viewer_id in (appointment.patient_id, appointment.provider_id)

    @extend_schema_field(OpenApiTypes.STR)
    def get_meeting_url(self, appointment: Appointment) -> str:
        return appointment.meeting_url if self._is_party(appointment) else ""

    @extend_schema_field(OpenApiTypes.STR)
    def get_location(self, appointment: Appointment) -> str:
        """Where to go: the clinic for an in-person visit, the room for a video call (its parties only); empty for
        a phone call."""
        if appointment.appointment_type == AppointmentType.TELEMEDICINE:
            return self.get_meeting_url(appointment)
        profile = self._profile(appointment)
        if appointment.appointment_type == AppointmentType.IN_PERSON and profile is not None:
            return ", ".join(part for part in (profile.clinic_name, profile.clinic_address) if part)
        return ""


class StatisticsQuerySerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=ParticipantRole.choices,
        required=False,
        help_text="Whose side to count: default `provider` for a doctor, `patient` for everyone else.",
    )


class StatusCountsSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    no_show = serializers.IntegerField()


class TypeCountsSerializer(serializers.Serializer):
    in_person = serializers.IntegerField()
    telemedicine = serializers.IntegerField()
    phone = serializers.IntegerField()


class StatisticsSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ParticipantRole.choices)
    total = serializers.IntegerField()
    by_status = StatusCountsSerializer()
    by_type = TypeCountsSerializer()
    upcoming = serializers.IntegerField(help_text="Scheduled or confirmed, starting after now.")
    completion_rate = serializers.FloatField(
        allow_null=True, help_text="completed ÷ (completed + no_show), 0 to 1; null before any."
    )
    no_show_rate = serializers.FloatField(
        allow_null=True, help_text="no_show ÷ (completed + no_show), 0 to 1; null before any."
    )
    cancellation_rate = serializers.FloatField(allow_null=True, help_text="cancelled ÷ total, 0 to 1; null before any.")


class CalendarUrlSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Secret iCalendar feed URL; anyone holding it can read the feed.")
