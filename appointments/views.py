"""Appointment endpoints of API.md. Thin: validate, call one service or selector, serialize.

Visibility is the selectors' (another person's appointment is 404); who may change what is the services'
(403 for the party not allowed, 409 for an illegal transition).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import PatientScopedMixin, clinic_doctor_ids, clinic_patient_for
from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.models import User
from accounts.selectors import is_clinic_admin_of, user_has_role
from jeghealth_backend.api.renderers import JSONRenderer
from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.viewsets import BaseViewSet

from . import selectors, series, services
from .calendar_feed import calendar_document
from .choices import CancelScope, ParticipantRole
from .exceptions import BookingInvalid, NotAllowed
from .filters import AppointmentFilter
from .models import Appointment
from .serializers import (
    AppointmentCreateInputSerializer,
    AppointmentSerializer,
    AppointmentUpdateInputSerializer,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    CalendarUrlSerializer,
    CancelInputSerializer,
    ProviderProfileInputSerializer,
    ProviderProfileSerializer,
    ProviderScheduleInputSerializer,
    ProviderSummarySerializer,
    RescheduleInputSerializer,
    StatisticsQuerySerializer,
    StatisticsSerializer,
)

TAGS = ["appointments"]
TAKEN = OpenApiResponse(ErrorEnvelopeSerializer, description="The provider or the patient is already booked then")
ILLEGAL = OpenApiResponse(ErrorEnvelopeSerializer, description="The appointment's status does not allow this")
PATIENT_PARAMETER = OpenApiParameter(
    "patient",
    OpenApiTypes.UUID,
    description="A patient's id, for a doctor holding their live `appointments` grant (404 otherwise).",
)


# --- providers ---------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(tags=TAGS, summary="Doctors one can book with"))
class ProviderViewSet(mixins.ListModelMixin, BaseViewSet):
    """Doctors, their own provider profile, and their free slots. A provider's id is the doctor's user id."""

    serializer_class = ProviderSummarySerializer
    model = User
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.doctors_queryset()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        profiles = [selectors.provider_profile_for(doctor) for doctor in page]
        return self.get_paginated_response(ProviderSummarySerializer(profiles, many=True).data)

    @extend_schema(methods=["GET"], tags=TAGS, summary="My provider profile", responses=ProviderProfileSerializer)
    @extend_schema(
        methods=["PATCH"],
        tags=TAGS,
        summary="Change my provider profile",
        request=ProviderProfileInputSerializer,
        responses=ProviderProfileSerializer,
    )
    @action(detail=False, methods=["get", "patch"], url_path="me")
    def me(self, request):
        if request.method == "PATCH":
            data = ProviderProfileInputSerializer(data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            profile = services.provider_profile_update(doctor=request.user, data=data.validated_data)
        else:
            profile = services.provider_profile_get_or_create(doctor=request.user)
        return Response(ProviderProfileSerializer(profile).data)

    @extend_schema(methods=["GET"], tags=TAGS, summary="A provider's profile", responses=ProviderProfileSerializer)
    @extend_schema(
        methods=["PATCH"],
        tags=TAGS,
        summary="Change a provider's working hours and days off (the provider, or a clinic admin of their clinic)",
        request=ProviderScheduleInputSerializer,
        responses=ProviderProfileSerializer,
    )
    @action(detail=True, methods=["get", "patch"])
    def schedule(self, request, pk=None):
        provider = selectors.provider_get(provider_id=pk)
        if provider is None or not (
            provider.pk == request.user.pk or is_clinic_admin_of(actor=request.user, member_id=provider.pk)
        ):
            raise NotFound
        if request.method == "PATCH":
            data = ProviderScheduleInputSerializer(data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            profile = services.provider_profile_update(doctor=provider, data=data.validated_data)
        else:
            profile = services.provider_profile_get_or_create(doctor=provider)
        return Response(ProviderProfileSerializer(profile).data)

    @extend_schema(
        tags=TAGS,
        summary="Free slots of one day",
        parameters=[AvailabilityQuerySerializer],
        responses=AvailabilitySerializer,
    )
    @action(detail=True, methods=["get"])
    def availability(self, request, pk=None):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        provider = selectors.provider_get(provider_id=pk)
        if provider is None:
            raise NotFound
        day = query.validated_data["date"]
        profile = selectors.provider_profile_for(provider)
        slots = selectors.provider_free_slots(provider=provider, day=day, now=timezone.now())
        payload = {
            "date": day,
            "timezone": profile.timezone,
            "consultation_minutes": profile.consultation_minutes,
            "slots": [{"start": slot.start, "end": slot.end} for slot in slots],
        }
        # Slot times are answered with the provider's offset, as API.md asks.
        with timezone.override(profile.tzinfo):
            return Response(AvailabilitySerializer(payload).data)


# --- appointments ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="My appointments", parameters=[PATIENT_PARAMETER]),
    retrieve=extend_schema(tags=TAGS, summary="One appointment", parameters=[PATIENT_PARAMETER]),
)
class AppointmentViewSet(PatientScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """A person's appointments as patient and as provider; a doctor with a grant, a patient's via `?patient=`."""

    serializer_class = AppointmentSerializer
    model = Appointment
    filterset_class = AppointmentFilter
    ordering_fields = ["start_time", "created_at", "status"]
    ordering = ["start_time"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    care_scope = "appointments"
    audit_resource_type = "appointment"
    # Each action decides who may act (a doctor confirms, completes, cancels); see the action bodies.
    others_may_write = True

    def scoped_queryset(self):
        return selectors.appointments_visible_to(user=self.request.user, subject=self.subject)

    def _answer(self, appointment: Appointment, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.appointment_queryset().get(pk=appointment.pk)
        return Response(AppointmentSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        tags=TAGS,
        summary="Book an appointment, or a recurring series (`recurrence`)",
        description="With `recurrence`, every occurrence is booked or none is: a clash answers 409 with "
        "`fields.recurrence` listing the clashing starts. The answer is the first occurrence; list the others "
        "with `?series=<its series>`.",
        request=AppointmentCreateInputSerializer,
        responses={201: AppointmentSerializer, 409: TAKEN},
    )
    def create(self, request):
        if self.acting_for_other:
            raise NotAllowed("Appointments are booked by the patient.")
        data = AppointmentCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        provider_id = values.pop("provider")
        patient = request.user
        patient_id = values.pop("patient", None)
        if patient_id is not None and patient_id != request.user.pk:
            patient, organizations = clinic_patient_for(actor=request.user, patient_id=patient_id)
            if not clinic_doctor_ids(organizations=organizations).filter(user_id=provider_id).exists():
                raise BookingInvalid("provider", "Book with a doctor of your clinic.")
        if "recurrence" in values:
            appointment = series.appointment_series_create(patient=patient, provider_id=provider_id, **values)
        else:
            appointment = services.appointment_create(patient=patient, provider_id=provider_id, **values)
        audit_record(
            actor=request.user,
            patient=patient,
            action=AuditAction.CREATE,
            resource_type=self.audit_resource_type,
            resource_ids=[str(appointment.pk)],
            request=request,
        )
        return self._answer(appointment, status.HTTP_201_CREATED)

    def _for_clinic(self, request, patient_id) -> Appointment:
        """The appointment of the URL, acted on by staff of a clinic for PATIENT_ID: one of the patient's with a
        doctor of the clinic; 404 for anyone outside (audited by the caller)."""
        patient, organizations = clinic_patient_for(actor=request.user, patient_id=patient_id)
        appointments = selectors.appointment_queryset().filter(
            patient=patient, provider_id__in=clinic_doctor_ids(organizations=organizations)
        )
        return get_object_or_404(appointments, pk=self.kwargs["pk"])

    def _audit_for_clinic(self, request, appointment: Appointment) -> None:
        audit_record(
            actor=request.user,
            patient=appointment.patient,
            action=AuditAction.UPDATE,
            resource_type=self.audit_resource_type,
            resource_ids=[str(appointment.pk)],
            request=request,
        )

    @extend_schema(
        tags=TAGS,
        summary="Change the reason (patient) or notes (doctor)",
        request=AppointmentUpdateInputSerializer,
        responses=AppointmentSerializer,
        parameters=[PATIENT_PARAMETER],
    )
    def partial_update(self, request, pk=None):
        data = AppointmentUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_update(
            appointment=self.get_object(), actor=request.user, data=data.validated_data
        )
        return self._answer(appointment)

    def _transition(self, service) -> Response:
        return self._answer(service(appointment=self.get_object(), actor=self.request.user))

    @extend_schema(
        tags=TAGS, summary="Confirm (doctor)", request=None, responses={200: AppointmentSerializer, 409: ILLEGAL}
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._transition(services.appointment_confirm)

    @extend_schema(
        tags=TAGS, summary="Complete (doctor)", request=None, responses={200: AppointmentSerializer, 409: ILLEGAL}
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._transition(services.appointment_complete)

    @extend_schema(
        tags=TAGS,
        summary="Mark as a no-show (doctor)",
        request=None,
        responses={200: AppointmentSerializer, 409: ILLEGAL},
    )
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._transition(services.appointment_mark_no_show)

    @extend_schema(
        tags=TAGS,
        summary="Cancel (patient or doctor); `scope: following` cancels the later occurrences of its series too",
        request=CancelInputSerializer,
        responses={200: AppointmentSerializer, 409: ILLEGAL},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cancel = (
            series.appointment_cancel_following
            if data.validated_data["scope"] == CancelScope.FOLLOWING
            else services.appointment_cancel
        )
        patient_id = data.validated_data.get("patient")
        if patient_id is not None and patient_id != request.user.pk:
            appointment = cancel(
                appointment=self._for_clinic(request, patient_id),
                actor=request.user,
                reason=data.validated_data["reason"],
                for_clinic=True,
            )
            self._audit_for_clinic(request, appointment)
            return self._answer(appointment)
        appointment = cancel(appointment=self.get_object(), actor=request.user, reason=data.validated_data["reason"])
        return self._answer(appointment)

    @extend_schema(
        tags=TAGS,
        summary="Move to another time (patient or doctor)",
        request=RescheduleInputSerializer,
        responses={200: AppointmentSerializer, 409: TAKEN},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        data = RescheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient_id = data.validated_data.get("patient")
        if patient_id is not None and patient_id != request.user.pk:
            appointment = services.appointment_reschedule(
                appointment=self._for_clinic(request, patient_id),
                actor=request.user,
                start_time=data.validated_data["start_time"],
                for_clinic=True,
            )
            self._audit_for_clinic(request, appointment)
            return self._answer(appointment)
        appointment = services.appointment_reschedule(
            appointment=self.get_object(), actor=request.user, start_time=data.validated_data["start_time"]
        )
        return self._answer(appointment)

    @extend_schema(
        tags=TAGS,
        summary="Counts and rates",
        parameters=[StatisticsQuerySerializer, PATIENT_PARAMETER],
        responses=StatisticsSerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def statistics(self, request):
        query = StatisticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if self.acting_for_other:
            role = ParticipantRole.PATIENT
        else:
            default = ParticipantRole.PROVIDER if user_has_role(request.user, "doctor") else ParticipantRole.PATIENT
            role = query.validated_data.get("role", default)
        queryset = selectors.appointments_visible_to(user=request.user, subject=self.subject, role=role)
        stats = selectors.appointment_statistics(queryset=queryset, now=timezone.now())
        return Response(StatisticsSerializer({"role": role, **stats}).data)


# --- calendar feed -----------------------------------------------------------------------------------------


def _feed_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("appointments-calendar-feed", kwargs={"token": token}))


class CalendarView(APIView):
    """My secret calendar feed URL; DELETE revokes it (the next GET makes a new one)."""

    @extend_schema(tags=TAGS, summary="My calendar feed URL", responses=CalendarUrlSerializer)
    def get(self, request):
        token = services.calendar_feed_token(user=request.user)
        return Response(CalendarUrlSerializer({"url": _feed_url(request, token)}).data)

    @extend_schema(tags=TAGS, summary="Revoke my calendar feed URL", responses={204: None})
    def delete(self, request):
        services.calendar_feed_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarRotateView(APIView):
    """A new feed URL; the previous one stops working at once."""

    @extend_schema(tags=TAGS, summary="Replace my calendar feed URL", request=None, responses=CalendarUrlSerializer)
    def post(self, request):
        token = services.calendar_feed_rotate(user=request.user)
        return Response(CalendarUrlSerializer({"url": _feed_url(request, token)}).data)


class CalendarFeedView(APIView):
    """The feed itself, for calendar apps: no token header, the secret is in the URL. A wrong one is 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request, force=False):
        # Calendar apps ask for text/calendar: the feed is answered directly, and errors in the JSON envelope.
        return (JSONRenderer(), JSONRenderer.media_type)

    @extend_schema(
        tags=TAGS,
        summary="iCalendar feed (RFC 5545) of upcoming appointments",
        auth=[],
        responses={(200, "text/calendar"): OpenApiTypes.STR},
    )
    def get(self, request, token: str):
        feed = selectors.calendar_feed_get(token_hash=services.calendar_token_digest(token))
        if feed is None:
            raise NotFound
        now = timezone.now()
        appointments = selectors.calendar_feed_appointments(user=feed.user, now=now)
        body = calendar_document(user=feed.user, appointments=appointments, now=now)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="jeghealth-appointments.ics"'
        return response
