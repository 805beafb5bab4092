"""Thin views of medications: validate, call one selector or service, serialize.

A doctor reads a patient's regimens, doses, adherence and statistics with `?patient=<id>` under a live grant of
the `medications` scope (`accounts.access`, audited); a doctor changes a patient's medications only by
prescribing (`prescriptions/`). Every other write acts on the signed-in person's own data.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.access import PatientScopedMixin
from accounts.choices import CareScope
from jeghealth_backend.api.viewsets import BaseViewSet

from . import selectors, services
from .doses import tz_of
from .filters import MedicationFilter, RegimenFilter
from .interactions import Finding, check_items
from .models import DrugInteraction, Medication, MedicationCategory, Regimen
from .permissions import IsDoctor
from .serializers import (
    AdherenceRangeQuerySerializer,
    AdherenceSerializer,
    AdherenceStatisticsSerializer,
    DoseDayQuerySerializer,
    DoseLogInputSerializer,
    DoseLogSerializer,
    DoseSerializer,
    DrugInteractionSerializer,
    InteractionCheckInputSerializer,
    InteractionCheckSerializer,
    MedicationCategorySerializer,
    MedicationSerializer,
    PrescriptionInputSerializer,
    RegimenInputSerializer,
    RegimenSerializer,
    RegimenWithWarningsSerializer,
)

TAGS = ["medications"]
PATIENT = OpenApiParameter(
    "patient",
    OpenApiTypes.UUID,
    description="A doctor reads this patient's data (needs the patient's live grant of `medications`; else 404).",
)
DEFAULT_RANGE_DAYS = 30


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _with_warnings(result: services.RegimenResult) -> dict:
    regimen = result.regimen
    regimen.interaction_warnings = [_warning(f) for f in result.interaction_warnings]
    return RegimenWithWarningsSerializer(regimen).data


def _warning(finding: Finding) -> dict:
    return {**finding.as_dict(), "regimen": finding.b.regimen_id}


@extend_schema_view(list=extend_schema(tags=TAGS), retrieve=extend_schema(tags=TAGS))
class CategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """The catalog's therapeutic categories."""

    serializer_class = MedicationCategorySerializer
    model = MedicationCategory
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.category_list()


@extend_schema_view(list=extend_schema(tags=TAGS), retrieve=extend_schema(tags=TAGS))
class CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """The medication catalog (reference data loaded from fixtures)."""

    serializer_class = MedicationSerializer
    model = Medication
    filterset_class = MedicationFilter
    ordering_fields = ["generic_name", "atc_code"]

    def scoped_queryset(self):
        return selectors.medication_list()


@extend_schema_view(list=extend_schema(tags=TAGS))
class InteractionViewSet(mixins.ListModelMixin, BaseViewSet):
    """The interaction table, and checking a list of medications against it."""

    serializer_class = DrugInteractionSerializer
    model = DrugInteraction
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.interaction_list()

    @extend_schema(tags=TAGS, request=InteractionCheckInputSerializer, responses={200: InteractionCheckSerializer})
    @action(detail=False, methods=["post"], pagination_class=None)
    def check(self, request):
        data = _valid(InteractionCheckInputSerializer, request.data)
        return Response(InteractionCheckSerializer(check_items(data["medications"])).data)


class PrescriptionViewSet(BaseViewSet):
    """A doctor starts a regimen for a patient who granted them the `medications` scope."""

    permission_classes = [IsAuthenticated, IsDoctor]
    serializer_class = PrescriptionInputSerializer
    model = Regimen
    filter_backends: list = []
    pagination_class = None

    @extend_schema(tags=TAGS, request=PrescriptionInputSerializer, responses={201: RegimenWithWarningsSerializer})
    def create(self, request):
        data = _valid(PrescriptionInputSerializer, request.data)
        patient_id = data.pop("patient")
        result = services.prescription_create(doctor=request.user, patient_id=patient_id, data=data, request=request)
        return Response(_with_warnings(result), status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(tags=TAGS, parameters=[PATIENT]),
    retrieve=extend_schema(tags=TAGS, parameters=[PATIENT]),
    destroy=extend_schema(tags=TAGS, responses={204: None}, description="Ends the regimen (kept, `is_active` false)."),
)
class RegimenViewSet(
    PatientScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseViewSet,
):
    """A person's regimens, their doses, and adherence."""

    care_scope = CareScope.MEDICATIONS
    audit_resource_type = "medication_regimen"
    serializer_class = RegimenSerializer
    model = Regimen
    filterset_class = RegimenFilter
    ordering_fields = ["created_at", "start_date", "name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.regimen_list(user=self.subject)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["tz"] = tz_of(self.subject)
        return context

    def _regimen(self, pk) -> Regimen:
        return selectors.regimen_get(user=self.subject, regimen_id=pk)

    @extend_schema(tags=TAGS, request=RegimenInputSerializer, responses={201: RegimenWithWarningsSerializer})
    def create(self, request):
        data = _valid(RegimenInputSerializer, request.data)
        result = services.regimen_create(user=request.user, data=data)
        return Response(_with_warnings(result), status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, request=RegimenInputSerializer, responses={200: RegimenWithWarningsSerializer})
    def partial_update(self, request, pk=None):
        regimen = self._regimen(pk)
        data = _valid(RegimenInputSerializer, request.data, partial=True)
        return Response(_with_warnings(services.regimen_update(regimen=regimen, data=data)))

    def destroy(self, request, pk=None):
        services.regimen_end(regimen=self._regimen(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        request=DoseLogInputSerializer,
        responses={201: DoseLogSerializer, 200: DoseLogSerializer},
        description="Record a dose as taken or skipped: 201 the first time, 200 when it updates the dose's log.",
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def log(self, request, pk=None):
        regimen = self._regimen(pk)
        data = _valid(DoseLogInputSerializer, request.data)
        log, created = services.dose_log(regimen=regimen, **data)
        log.regimen = self._regimen(pk)
        body = DoseLogSerializer(log, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(tags=TAGS, parameters=[DoseDayQuerySerializer, PATIENT], responses={200: DoseSerializer(many=True)})
    @action(detail=False, methods=["get"], filter_backends=[])
    def doses(self, request):
        query = _valid(DoseDayQuerySerializer, request.query_params)
        now = timezone.now()
        day = query.get("date") or now.astimezone(tz_of(self.subject)).date()
        page = self.paginate_queryset(selectors.doses_for_day(user=self.subject, day=day, now=now))
        return self.get_paginated_response(DoseSerializer(page, many=True, context=self.get_serializer_context()).data)

    def _range(self, request):
        query = _valid(AdherenceRangeQuerySerializer, request.query_params)
        now = timezone.now()
        end = query.get("end_date") or now.astimezone(tz_of(self.subject)).date()
        start = query.get("start_date") or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        # The defaults can make an invalid pair (start_date alone, after today or years ago): check the pair used.
        _valid(AdherenceRangeQuerySerializer, {"start_date": start.isoformat(), "end_date": end.isoformat()})
        return start, end, now

    @extend_schema(tags=TAGS, parameters=[AdherenceRangeQuerySerializer, PATIENT], responses={200: AdherenceSerializer})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def adherence(self, request):
        start, end, now = self._range(request)
        report = selectors.adherence(user=self.subject, start_date=start, end_date=end, now=now)
        return Response(AdherenceSerializer(report).data)

    @extend_schema(
        tags=TAGS, parameters=[AdherenceRangeQuerySerializer, PATIENT], responses={200: AdherenceStatisticsSerializer}
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def statistics(self, request):
        start, end, now = self._range(request)
        report = selectors.statistics(user=self.subject, start_date=start, end_date=end, now=now)
        return Response(AdherenceStatisticsSerializer(report).data)
