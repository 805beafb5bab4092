"""Thin views of `/api/v1/health-metrics/`: check the request's shape, call one service or selector, answer."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.access import PatientScopedMixin
from jeghealth_backend.api.exceptions import PayloadTooLarge
from jeghealth_backend.api.viewsets import BaseViewSet

from . import selectors, services
from .exceptions import ReadingInvalid
from .filters import ReadingFilter
from .imports import run as import_service
from .models import HealthMetric, HealthMetricTarget, ImportJob, Period
from .periods import local_today
from .progress import target_progress
from .serializers import (
    ChangesQuerySerializer,
    ChangesSerializer,
    HealthMetricBulkInputSerializer,
    HealthMetricBulkResultSerializer,
    HealthMetricInputSerializer,
    HealthMetricLatestSerializer,
    HealthMetricSerializer,
    HealthMetricUpdateSerializer,
    ImportAcceptedSerializer,
    ImportInputSerializer,
    ImportSerializer,
    MetricSummaryQuerySerializer,
    MetricSummarySerializer,
    MetricTargetInputSerializer,
    MetricTargetProgressSerializer,
    MetricTargetSerializer,
    MetricTrendsQuerySerializer,
    MetricTrendsSerializer,
    SourcePrioritySerializer,
)
from .sync import changes_page, reading_etag
from .trends import trends_get

# Default spans of a summary without dates, and the longest one asked.
SUMMARY_DEFAULT_DAYS = {Period.DAILY: 30, Period.WEEKLY: 12 * 7, Period.MONTHLY: 365}
SUMMARY_MAX_DAYS = 5 * 366


@extend_schema_view(
    list=extend_schema(summary="The person's readings, newest first"),
    retrieve=extend_schema(summary="One reading, with its ETag (send it as If-Match to PATCH or DELETE)"),
    destroy=extend_schema(summary="Delete a reading"),
)
class HealthMetricViewSet(
    PatientScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    serializer_class = HealthMetricSerializer
    model = HealthMetric
    filterset_class = ReadingFilter
    care_scope = "health_metrics"
    audit_resource_type = "health_metric"
    ordering_fields = ["recorded_at", "created_at", "metric_type", "value"]
    ordering = ["-recorded_at", "-created_at"]
    replica_actions = frozenset({"list", "latest", "summary", "trends", "anomalies"})
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.metric_queryset(user=self.subject)

    @extend_schema(
        summary="Add a reading",
        request=HealthMetricInputSerializer,
        responses={
            201: HealthMetricSerializer,
            200: OpenApiResponse(
                HealthMetricSerializer, description="client_record_id seen before: the stored reading"
            ),
        },
    )
    def create(self, request):
        shape = HealthMetricInputSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        metric, created = services.metric_create(user=self.subject, data=shape.validated_data)
        return Response(
            HealthMetricSerializer(metric).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Change a reading", request=HealthMetricUpdateSerializer, responses={200: HealthMetricSerializer}
    )
    def partial_update(self, request, pk=None):
        metric = self.get_object()
        shape = HealthMetricUpdateSerializer(data=request.data, partial=True)
        shape.is_valid(raise_exception=True)
        metric = services.metric_update(
            metric=metric, data=shape.validated_data, if_match=request.headers.get("If-Match")
        )
        return Response(HealthMetricSerializer(metric).data, headers={"ETag": reading_etag(metric)})

    def retrieve(self, request, pk=None):
        metric = self.get_object()
        return Response(HealthMetricSerializer(metric).data, headers={"ETag": reading_etag(metric)})

    def perform_destroy(self, instance):
        services.metric_delete(metric=instance, if_match=self.request.headers.get("If-Match"))

    @extend_schema(
        summary="Changes since a cursor: upserts and deletes in order, at most 500",
        description="Without `since`, from the start. A cursor older than 30 days answers 410 (`gone`).",
        parameters=[ChangesQuerySerializer],
        request=None,
        responses={200: ChangesSerializer},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def changes(self, request):
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            changes_page(
                user=self.subject,
                since=query.validated_data.get("since"),
                now=timezone.now(),
                serialize=lambda metric: HealthMetricSerializer(metric).data,
            )
        )

    @extend_schema(
        summary="Add up to 1,000 readings, all or nothing",
        description='One refused item answers 400 with `fields` keyed by item index (`{"3": {"value": ["…"]}}`) '
        "and stores nothing.",
        request=HealthMetricBulkInputSerializer,
        responses={201: HealthMetricBulkResultSerializer},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        shape = HealthMetricBulkInputSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        results = services.metrics_bulk_create(user=self.subject, items=shape.validated_data["metrics"])
        body = {
            "created": sum(1 for _, created in results if created),
            "results": HealthMetricSerializer([metric for metric, _ in results], many=True).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The latest reading of each type", request=None, responses={200: HealthMetricLatestSerializer}
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def latest(self, request):
        latest = selectors.metric_latest(user=self.subject)
        return Response({t: HealthMetricSerializer(m).data for t, m in latest.items()})

    @extend_schema(
        summary="Count, min, max, average per local day, week or month",
        parameters=[MetricSummaryQuerySerializer],
        request=None,
        responses={200: MetricSummarySerializer},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def summary(self, request):
        query = MetricSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        period = params["period"]
        end_date = params.get("end_date") or local_today(self.subject.profile.tzinfo, timezone.now())
        start_date = params.get("start_date") or end_date - timedelta(days=SUMMARY_DEFAULT_DAYS[period] - 1)
        _check_span(start_date, end_date)
        body = selectors.summary_get(
            user=self.subject,
            metric_type=params["metric_type"],
            period=period,
            start_date=start_date,
            end_date=end_date,
            day_basis=params["day_basis"],
        )
        # The selector answers the documented shape (MetricSummarySerializer) already, cached as such: running
        # 365 buckets through a serializer again would cost more than reading them.
        return Response(body)

    @extend_schema(
        summary="Change against the previous period, slope per day, 7-day moving average",
        parameters=[MetricTrendsQuerySerializer],
        request=None,
        responses={200: MetricTrendsSerializer},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def trends(self, request):
        query = MetricTrendsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # Like the summary, the answer is already in the documented shape (MetricTrendsSerializer).
        return Response(trends_get(user=self.subject, now=timezone.now(), **query.validated_data))

    @extend_schema(
        methods=["GET"],
        summary="The order in which overlapping sources are believed, per metric type",
        request=None,
        responses={200: SourcePrioritySerializer},
    )
    @extend_schema(
        methods=["PUT"],
        summary="Set the order of sources for the types named",
        request=SourcePrioritySerializer,
        responses={200: SourcePrioritySerializer},
    )
    @action(detail=False, methods=["get", "put"], url_path="source-priority", filter_backends=[], pagination_class=None)
    def source_priority(self, request):
        if request.method == "PUT":
            shape = SourcePrioritySerializer(data=request.data)
            shape.is_valid(raise_exception=True)
            services.source_priority_set(user=self.subject, orders=shape.validated_data)
        return Response(selectors.source_priority_get(user=self.subject))

    @extend_schema(
        summary="Readings flagged as anomalous, newest first",
        request=None,
        responses={200: HealthMetricSerializer(many=True)},
    )
    @action(detail=False, methods=["get"])
    def anomalies(self, request):
        queryset = self.filter_queryset(selectors.anomaly_queryset(user=self.subject))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(HealthMetricSerializer(page, many=True).data)


def _check_span(start_date: date, end_date: date) -> None:
    if start_date > end_date:
        raise ReadingInvalid({"start_date": ["Must not be after end_date."]})
    if (end_date - start_date).days >= SUMMARY_MAX_DAYS:
        raise ReadingInvalid({"start_date": [f"At most {SUMMARY_MAX_DAYS} days from end_date."]})


@extend_schema_view(
    list=extend_schema(summary="The person's targets"),
    retrieve=extend_schema(summary="One target"),
    destroy=extend_schema(summary="Delete a target"),
)
class TargetViewSet(
    PatientScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    serializer_class = MetricTargetSerializer
    model = HealthMetricTarget
    filter_backends = []
    care_scope = "health_metrics"
    audit_resource_type = "health_metric_target"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.target_queryset(user=self.subject)

    @extend_schema(summary="Add a target", request=MetricTargetInputSerializer, responses={201: MetricTargetSerializer})
    def create(self, request):
        shape = MetricTargetInputSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        target = services.target_create(user=self.subject, data=shape.validated_data)
        return Response(MetricTargetSerializer(target).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a target", request=MetricTargetInputSerializer, responses={200: MetricTargetSerializer}
    )
    def partial_update(self, request, pk=None):
        target = self.get_object()
        shape = MetricTargetInputSerializer(data=request.data, partial=True)
        shape.is_valid(raise_exception=True)
        target = services.target_update(target=target, data=shape.validated_data)
        return Response(MetricTargetSerializer(target).data)

    def perform_destroy(self, instance):
        services.target_delete(target=instance)

    @extend_schema(
        summary="Progress period by period, and the current streak",
        request=None,
        responses={200: MetricTargetProgressSerializer},
    )
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        target = self.get_object()
        return Response(MetricTargetProgressSerializer(target_progress(target=target, now=timezone.now())).data)


@extend_schema_view(
    list=extend_schema(summary="The person's imports, newest first"),
    retrieve=extend_schema(summary="One import: its status, counts and refused records"),
)
class ImportViewSet(PatientScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    serializer_class = ImportSerializer
    model = ImportJob
    filter_backends = []
    care_scope = "health_metrics"
    audit_resource_type = "health_metric_import"
    parser_classes = [MultiPartParser]
    http_method_names = ["get", "post", "head", "options"]

    def scoped_queryset(self):
        return selectors.import_queryset(user=self.subject)

    @extend_schema(
        summary="Import a history file (Apple Health, FHIR R4 Bundle, Health Connect JSON)",
        description="A worker imports it: poll `imports/{id}/`. At most IMPORT_MAX_BYTES (413 above).",
        request={"multipart/form-data": ImportInputSerializer},
        responses={202: ImportAcceptedSerializer},
    )
    def create(self, request):
        shape = ImportInputSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        upload = shape.validated_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise PayloadTooLarge()
        job = import_service.import_create(user=self.subject, format=shape.validated_data["format"], upload=upload)
        return Response({"id": str(job.pk), "status": job.status}, status=status.HTTP_202_ACCEPTED)
