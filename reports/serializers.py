"""Input serializers check a request's shape; output serializers list every field they answer.

The dashboard's serializers describe the plain data of `dashboard.builder` (cached dicts); statuses and
categories of the other apps are answered as strings documented by their values, so that this schema never
redefines another app's enums.
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jeghealth_backend.metric_catalog import METRIC_TYPE_CHOICES

from . import storage
from .choices import ReportFormat, ReportStatus, ReportType
from .models import Report
from .services import MAX_SPAN_DAYS

# --- reports ------------------------------------------------------------------------------------------------


class ReportInputSerializer(serializers.Serializer):
    """A report request: the person's own data over local dates START_DATE..END_DATE (both included)."""

    report_type = serializers.ChoiceField(choices=ReportType.choices, default=ReportType.HEALTH_SUMMARY)
    format = serializers.ChoiceField(choices=ReportFormat.choices)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    metric_types = serializers.ListField(
        child=serializers.ChoiceField(choices=METRIC_TYPE_CHOICES),
        required=False,
        allow_empty=True,
        max_length=len(METRIC_TYPE_CHOICES),
        help_text="Metric types to include; empty or absent: every type with readings in the period.",
    )
    patient = serializers.UUIDField(
        required=False,
        help_text="A patient's id: a doctor's report of that patient's data, under a live `health_metrics` grant "
        "(404 otherwise). The report is the doctor's.",
    )

    def validate(self, attrs):
        if attrs["start_date"] > attrs["end_date"]:
            raise serializers.ValidationError({"start_date": ["Must not be after end_date."]})
        if attrs["end_date"] - attrs["start_date"] >= timedelta(days=MAX_SPAN_DAYS):
            raise serializers.ValidationError({"start_date": [f"A report covers at most {MAX_SPAN_DAYS} days."]})
        return attrs


class ReportAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ReportStatus.choices)


class ReportPatientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")


class ReportSerializer(serializers.ModelSerializer):
    patient = ReportPatientSerializer(
        read_only=True, allow_null=True, help_text="The patient whose data a doctor's report shows; null: mine."
    )
    download_url = serializers.SerializerMethodField(
        help_text="Once `ready`: a short-lived signed object-storage URL that needs no token, or this service's "
        "`download/` URL, which needs the owner's Bearer token. Null before."
    )

    class Meta:
        model = Report
        fields = [
            "id",
            "report_type",
            "format",
            "start_date",
            "end_date",
            "metric_types",
            "patient",
            "status",
            "error",
            "file_size",
            "created_at",
            "completed_at",
            "expires_at",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, report: Report) -> str | None:
        if report.status != ReportStatus.READY:
            return None
        if storage.signs_urls():
            return storage.signed_url(report)
        request = self.context["request"]
        return request.build_absolute_uri(reverse("report-download", args=[report.pk]))


# --- dashboard ----------------------------------------------------------------------------------------------


class DashboardReadingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    value = serializers.FloatField(allow_null=True)
    systolic_value = serializers.FloatField(allow_null=True)
    diastolic_value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    source = serializers.CharField(help_text="`manual` or `device`.")
    device = serializers.UUIDField(allow_null=True)
    is_anomaly = serializers.BooleanField()
    anomaly_reason = serializers.CharField(allow_blank=True)


class DashboardTrendSeriesSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    average = serializers.FloatField(
        allow_null=True, help_text="Average reading; for steps, calories and sleep the average day's total."
    )
    previous_average = serializers.FloatField(allow_null=True, help_text="The same over the days just before.")
    change = serializers.FloatField(allow_null=True)
    change_percent = serializers.FloatField(allow_null=True)
    slope_per_day = serializers.FloatField(allow_null=True, help_text="Least-squares slope of the daily values.")
    days_with_data = serializers.IntegerField()
    previous_days_with_data = serializers.IntegerField()
    count = serializers.IntegerField()


class DashboardTrendWindowSerializer(serializers.Serializer):
    """`value` for every type but blood pressure, which has `systolic` and `diastolic`."""

    value = DashboardTrendSeriesSerializer(required=False)
    systolic = DashboardTrendSeriesSerializer(required=False)
    diastolic = DashboardTrendSeriesSerializer(required=False)


class DashboardMetricTrendSerializer(serializers.Serializer):
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    unit = serializers.CharField()
    last_7_days = DashboardTrendWindowSerializer()
    last_30_days = DashboardTrendWindowSerializer()


class DashboardTargetSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    metric_type = serializers.ChoiceField(choices=METRIC_TYPE_CHOICES)
    target_type = serializers.CharField(help_text="`minimum`, `maximum` or `range`.")
    target_value = serializers.FloatField(allow_null=True)
    min_value = serializers.FloatField(allow_null=True)
    max_value = serializers.FloatField(allow_null=True)
    period = serializers.CharField(help_text="`daily`, `weekly` or `monthly`.")
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    unit = serializers.CharField()


class DashboardTargetPeriodSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    value = serializers.FloatField(allow_null=True)
    met = serializers.BooleanField()


class DashboardTargetProgressSerializer(serializers.Serializer):
    target = DashboardTargetSerializer()
    current_period = DashboardTargetPeriodSerializer(allow_null=True)
    recent_periods = DashboardTargetPeriodSerializer(many=True, help_text="The last periods, oldest first.")
    periods_met = serializers.IntegerField()
    periods_total = serializers.IntegerField()
    current_streak = serializers.IntegerField()


class DashboardDoseSerializer(serializers.Serializer):
    regimen = serializers.UUIDField()
    medication_name = serializers.CharField()
    scheduled_for = serializers.DateTimeField()
    status = serializers.CharField(help_text="`pending`, `taken`, `skipped` or `missed`.")
    taken_at = serializers.DateTimeField(allow_null=True)


class DashboardAdherenceTallySerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    taken = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="0–100, or null when no dose counted.")


class DashboardRegimenAdherenceSerializer(DashboardAdherenceTallySerializer):
    regimen = serializers.UUIDField()
    medication_name = serializers.CharField()


class DashboardAdherenceSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    overall = DashboardAdherenceTallySerializer()
    regimens = DashboardRegimenAdherenceSerializer(many=True)


class DashboardAdherenceWindowsSerializer(serializers.Serializer):
    last_7_days = DashboardAdherenceSerializer()
    last_30_days = DashboardAdherenceSerializer()


class DashboardMedicationsSerializer(serializers.Serializer):
    today = DashboardDoseSerializer(many=True)
    adherence = DashboardAdherenceWindowsSerializer()


class DashboardProviderSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True, help_text="Null once the provider's account is deleted.")
    name = serializers.CharField()
    specialty = serializers.CharField(allow_blank=True)
    clinic_name = serializers.CharField(allow_blank=True)


class DashboardUpcomingAppointmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    appointment_type = serializers.CharField(help_text="`in_person`, `telemedicine` or `phone`.")
    status = serializers.CharField(help_text="`scheduled` or `confirmed`.")
    meeting_url = serializers.CharField(allow_blank=True)
    provider = DashboardProviderSerializer()


class DashboardAppointmentsSerializer(serializers.Serializer):
    upcoming = DashboardUpcomingAppointmentSerializer(many=True)


class DashboardNotificationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    category = serializers.CharField()
    severity = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    is_read = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DashboardNotificationsSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()
    latest = DashboardNotificationSerializer(many=True)


class DashboardDeviceStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    device_type = serializers.CharField()
    status = serializers.CharField()
    is_verified = serializers.BooleanField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    battery_level = serializers.IntegerField(allow_null=True)
    firmware_version = serializers.CharField(allow_blank=True)
    open_alerts = serializers.IntegerField()


class DashboardInsightSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="`average_rose`, `average_fell`, `target_periods_met`, `short_sleep`, `flagged_readings`, "
        "`dose_adherence`."
    )
    message = serializers.CharField()
    data = serializers.DictField(child=serializers.JSONField(), help_text="The numbers behind the message.")


class DashboardSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    date = serializers.DateField(help_text="Today in the person's timezone.")
    timezone = serializers.CharField()
    latest = serializers.DictField(child=DashboardReadingSerializer(), help_text="The latest reading of each type.")
    trends = serializers.DictField(
        child=DashboardMetricTrendSerializer(), help_text="Per type with readings in 60 days."
    )
    targets = DashboardTargetProgressSerializer(many=True)
    medications = DashboardMedicationsSerializer(
        allow_null=True, help_text="Null for a doctor whose grant lacks the `medications` scope."
    )
    appointments = DashboardAppointmentsSerializer(
        allow_null=True, help_text="Null for a doctor whose grant lacks the `appointments` scope."
    )
    notifications = DashboardNotificationsSerializer(
        allow_null=True, help_text="The person's own inbox: null when a doctor reads the dashboard."
    )
    devices = DashboardDeviceStateSerializer(many=True)
    insights = DashboardInsightSerializer(many=True)


class DashboardInsightsSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    insights = DashboardInsightSerializer(many=True)
