"""`GET care/patients/`: the triage list of a doctor's or a caregiver's patients (reports/care_list.py)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from accounts.audit import audit_record_each
from accounts.choices import AuditAction
from accounts.models import User

from .care_list import care_details, care_patients

AUDIT_RESOURCE = "care_patient_summary"


class CarePatientRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")


class CareValueSerializer(serializers.Serializer):
    value = serializers.FloatField(required=False)
    systolic_value = serializers.FloatField(required=False)
    diastolic_value = serializers.FloatField(required=False)


class CareLatestSerializer(CareValueSerializer):
    recorded_at = serializers.DateTimeField()


class OpenAlertsSerializer(serializers.Serializer):
    critical = serializers.IntegerField()
    warning = serializers.IntegerField()


class NextAppointmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    appointment_type = serializers.CharField()
    status = serializers.CharField()
    provider_name = serializers.CharField()


class CarePatientSerializer(serializers.Serializer):
    """One patient; a field the grants do not cover (its scope in brackets) is null."""

    patient = CarePatientRefSerializer()
    scopes = serializers.SerializerMethodField()
    latest = serializers.DictField(
        child=CareLatestSerializer(), allow_null=True, help_text="[health_metrics] The latest reading of each type."
    )
    averages_7d = serializers.DictField(
        child=CareValueSerializer(),
        allow_null=True,
        help_text="[health_metrics] Over the last 7 local days: the mean reading (steps, calories, sleep: the "
        "mean daily total).",
    )
    open_alerts = OpenAlertsSerializer(allow_null=True, help_text="[alerts] Open episodes by severity.")
    last_data_at = serializers.DateTimeField(allow_null=True, help_text="[health_metrics] The newest reading's time.")
    adherence_7d = serializers.FloatField(allow_null=True, help_text="[medications] Percent of the last 7 days.")
    next_appointment = NextAppointmentSerializer(allow_null=True, help_text="[appointments]")

    def get_scopes(self, row) -> list[str]:
        return sorted(row.scopes)


class CarePatientsView(GenericAPIView):
    serializer_class = CarePatientSerializer
    # Rows are built by care_list, not a queryset; this only tells the schema generator what the list is of.
    queryset = User.objects.none()
    filter_backends: list = []  # the order is the triage's, not a query parameter

    @extend_schema(
        tags=["care"],
        summary="My patients, in triage order",
        description="One row per patient with a live grant to me (or to a clinic where I am a doctor member), "
        "ordered by open critical alerts, then warnings, then the newest data first; each row holds only what "
        "the granted scopes allow. Each patient shown is an audited read.",
        responses={200: CarePatientSerializer(many=True)},
    )
    def get(self, request):
        rows = care_patients(reader=request.user, now=timezone.now())
        page = self.paginate_queryset(rows)
        care_details(page=page, now=timezone.now())
        audit_record_each(
            actor=request.user,
            patients=[row.patient for row in page],
            action=AuditAction.READ,
            resource_type=AUDIT_RESOURCE,
            request=request,
        )
        return self.get_paginated_response(CarePatientSerializer(page, many=True).data)
