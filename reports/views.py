"""Thin views of reports, the dashboard, insights and the readings export: check the request's shape, call one
service or selector, answer."""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import grant_covers, patient_for, subject_for
from accounts.audit import audit_record
from accounts.choices import AuditAction, CareScope
from health_metrics import selectors as metric_selectors
from health_metrics.models import Source
from iot_devices import selectors as device_selectors
from jeghealth_backend.api.exceptions import Conflict
from jeghealth_backend.api.replica_reads import ReplicaReadsMixin
from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.viewsets import BaseViewSet
from jeghealth_backend.metric_catalog import METRIC_TYPES

from . import selectors, services, storage
from .choices import ReportStatus
from .dashboard.builder import dashboard_get
from .filters import ExportFilter, ReportFilter
from .interop.csv_export import csv_blocks
from .interop.fhir import READING_FIELDS, bundle_blocks
from .models import Report
from .serializers import (
    DashboardInsightsSerializer,
    DashboardSerializer,
    ReportAcceptedSerializer,
    ReportInputSerializer,
    ReportSerializer,
)

EXPORT_FORMATS = ("csv", "fhir")
FHIR_CONTENT_TYPE = "application/fhir+json"


class FormatIsOurParameter(DefaultContentNegotiation):
    """`?format=` is these endpoints' own parameter (a report's or an export's format), not DRF's renderer
    override, and they answer JSON (or a file) whatever the Accept header asks: the first renderer, always."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


@extend_schema_view(
    list=extend_schema(summary="The person's reports, newest first"),
    retrieve=extend_schema(summary="One report: its status and, once ready, its download URL"),
)
class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    serializer_class = ReportSerializer
    model = Report
    filterset_class = ReportFilter
    ordering_fields = ["created_at", "start_date", "end_date"]
    ordering = ["-created_at"]
    content_negotiation_class = FormatIsOurParameter

    def scoped_queryset(self):
        return selectors.report_list(user=self.request.user)

    @extend_schema(
        summary="Request a report; it is generated in the background",
        request=ReportInputSerializer,
        responses={202: ReportAcceptedSerializer},
    )
    def create(self, request):
        shape = ReportInputSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = dict(shape.validated_data)
        patient_id = data.pop("patient", None)
        patient = None
        if patient_id is not None and patient_id != request.user.pk:
            patient = patient_for(reader=request.user, patient_id=patient_id, scope=CareScope.HEALTH_METRICS)
        report = services.report_request(user=request.user, data=data, patient=patient, request=request)
        return Response(ReportAcceptedSerializer(report).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The report's file (the owner's Bearer token required)",
        request=None,
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="A PDF report"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A CSV report"),
            409: OpenApiResponse(ErrorEnvelopeSerializer, description="The report is not ready (yet)"),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def download(self, request, pk=None):
        report = self.get_object()
        if report.status != ReportStatus.READY:
            raise Conflict("The report is not ready; its status says when it is.", code="report_not_ready")
        if report.patient_id:
            audit_record(
                actor=request.user,
                patient=report.patient,
                action=AuditAction.EXPORT,
                resource_type="report",
                resource_ids=[str(report.pk)],
                request=request,
            )
        return FileResponse(
            storage.open_file(report),
            as_attachment=True,
            filename=storage.download_name(report),
            content_type=storage.content_type(report),
        )


class DashboardView(ReplicaReadsMixin, APIView):
    replica_actions = frozenset({"get"})

    @extend_schema(
        summary="Everything the home screen shows, in one call",
        parameters=[
            OpenApiParameter(
                "patient",
                OpenApiTypes.UUID,
                description="A patient's id, under a live `health_metrics` grant (404 otherwise; audited): "
                "medications and appointments only with those scopes too, notifications never.",
            )
        ],
        description="Latest values, 7- and 30-day trends, targets with progress, today's doses and adherence, "
        "next appointments, unread notifications, device states and insights. Cached per person until their "
        "data changes.",
        request=None,
        responses={200: DashboardSerializer},
    )
    def get(self, request):
        subject = subject_for(request, scope=CareScope.HEALTH_METRICS)
        if subject.pk == request.user.pk:
            body = dashboard_get(user=subject, now=timezone.now())
            return Response(DashboardSerializer(body).data)
        sections = frozenset(
            section
            for section in (CareScope.MEDICATIONS, CareScope.APPOINTMENTS)
            if grant_covers(grantee=request.user, patient_id=subject.pk, scope=section)
        )
        body = dashboard_get(user=subject, now=timezone.now(), sections=sections)
        audit_record(
            actor=request.user, patient=subject, action=AuditAction.READ, resource_type="dashboard", request=request
        )
        return Response(DashboardSerializer(body).data)


class InsightsView(APIView):
    @extend_schema(
        summary="Plain-language observations from the person's own numbers",
        description="Each insight states what rules find in the data (`code`, `message`) with the numbers behind "
        "it (`data`); no medical advice. The same list as the dashboard's `insights`.",
        request=None,
        responses={200: DashboardInsightsSerializer},
    )
    def get(self, request):
        body = dashboard_get(user=request.user, now=timezone.now())
        return Response(DashboardInsightsSerializer(body).data)


class HealthMetricExportView(ReplicaReadsMixin, APIView):
    """`GET health-metrics/export/`: every reading of the filters, streamed, as CSV or a FHIR R4 Bundle."""

    replica_actions = frozenset({"get"})

    @property
    def subject(self):
        # Resolved (the grant checked) on the primary before the replica serves the readings (ReplicaReadsMixin).
        return subject_for(self.request, scope=CareScope.HEALTH_METRICS)

    content_negotiation_class = FormatIsOurParameter

    @extend_schema(
        summary="Export readings as CSV or as a FHIR R4 Bundle of Observations",
        description="Streams every reading the filters select (the reading list's filters), oldest first. "
        "`format=fhir` answers a `collection` Bundle: the Patient, the Devices, and one Observation per reading "
        "with its LOINC code and UCUM unit (blood pressure: one Observation with systolic and diastolic "
        "components). A doctor adds `patient=<id>` under a live `health_metrics` grant.",
        parameters=[
            OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), required=True, description="csv or fhir"),
            OpenApiParameter("metric_type", str, enum=list(METRIC_TYPES)),
            OpenApiParameter("start_date", str, description="YYYY-MM-DD (local day) or ISO 8601 date-time with offset"),
            OpenApiParameter("end_date", str, description="YYYY-MM-DD (local day) or ISO 8601 date-time with offset"),
            OpenApiParameter("source", str, enum=list(Source.values)),
            OpenApiParameter("device", OpenApiTypes.UUID),
            OpenApiParameter("is_anomaly", bool),
            OpenApiParameter("patient", OpenApiTypes.UUID, description="A patient's id, for a doctor with a grant"),
        ],
        request=None,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one row per reading"),
            (200, FHIR_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 Bundle"),
        },
    )
    def get(self, request):
        export_format = request.query_params.get("format")
        if export_format not in EXPORT_FORMATS:
            raise ValidationError({"format": ["Choose csv or fhir."]})
        subject = subject_for(request, scope=CareScope.HEALTH_METRICS)
        filterset = ExportFilter(
            data=request.query_params,
            queryset=metric_selectors.metric_queryset(user=subject),
            request=request,
            tz=subject.profile.tzinfo,
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        readings = filterset.qs.order_by("recorded_at", "id")
        audit_record(
            actor=request.user,
            patient=subject,
            action=AuditAction.EXPORT,
            resource_type="health_metric",
            request=request,
        )
        now = timezone.now()
        stamp = now.astimezone(subject.profile.tzinfo).date().isoformat()
        if export_format == "csv":
            response = StreamingHttpResponse(csv_blocks(readings), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="health-metrics-{stamp}.csv"'
            return response
        devices = device_selectors.device_list(owner=subject).filter(
            pk__in=readings.exclude(device__isnull=True).order_by().values("device_id")
        )
        blocks = bundle_blocks(
            user=subject,
            devices=devices,
            readings=readings.values(*READING_FIELDS).iterator(chunk_size=2000),
            now=now,
        )
        response = StreamingHttpResponse(blocks, content_type=FHIR_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="health-metrics-{stamp}.fhir.json"'
        return response
