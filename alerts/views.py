"""Alerts endpoints of API.md: a person's episodes (or a patient's, for a caregiver or doctor with an `alerts`
grant), acknowledgement, and the person's own thresholds at `notifications/alert-thresholds/`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import PatientScopedMixin
from accounts.choices import CareScope
from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.viewsets import BaseViewSet

from . import selectors, services
from .filters import EpisodeFilter
from .models import AlertEpisode, AlertThreshold
from .serializers import (
    AlertEpisodeDetailSerializer,
    AlertEpisodeSerializer,
    AlertThresholdInputSerializer,
    AlertThresholdSerializer,
)

TAGS = ["alerts"]
PATIENT = OpenApiParameter(
    "patient", str, description="A patient's id, for a caregiver or doctor whose live grant covers `alerts`."
)


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="Alert episodes, newest first", parameters=[PATIENT]),
    retrieve=extend_schema(tags=TAGS, summary="One alert episode, with its readings", parameters=[PATIENT]),
)
class AlertEpisodeViewSet(PatientScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    serializer_class = AlertEpisodeSerializer
    model = AlertEpisode
    filterset_class = EpisodeFilter
    ordering_fields = ["opened_at", "severity"]
    ordering = ["-opened_at"]
    care_scope = CareScope.ALERTS
    audit_resource_type = "alert_episode"
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return selectors.episode_list(user=self.subject)

    def retrieve(self, request, *args, **kwargs):
        episode = self.get_object()
        context = {**self.get_serializer_context(), "reading_ids": selectors.episode_reading_ids(episode=episode)}
        return Response(AlertEpisodeDetailSerializer(episode, context=context).data)


class AlertAcknowledgeView(APIView):
    """The person, or a caregiver or doctor whose live grant covers `alerts`, saw the episode."""

    @extend_schema(
        tags=TAGS,
        summary="Acknowledge an alert episode: its reminders and escalation stop",
        request=None,
        responses={200: AlertEpisodeSerializer, 404: OpenApiResponse(ErrorEnvelopeSerializer)},
    )
    def post(self, request, pk):
        episode = selectors.episode_for_acknowledgement(by=request.user, episode_id=pk)
        episode = services.episode_acknowledge(episode=episode, by=request.user, request=request)
        return Response(AlertEpisodeSerializer(episode).data)


@extend_schema(tags=["notifications"])
@extend_schema_view(
    partial_update=extend_schema(request=AlertThresholdInputSerializer, responses={200: AlertThresholdSerializer})
)
class AlertThresholdViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseViewSet,
):
    """The person's own thresholds (API.md: `notifications/alert-thresholds/`)."""

    serializer_class = AlertThresholdSerializer
    model = AlertThreshold
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.alert_threshold_list(user=self.request.user)

    def _validated(self, instance=None, partial: bool = False) -> dict:
        data = AlertThresholdInputSerializer(instance=instance, data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return data.validated_data

    @extend_schema(request=AlertThresholdInputSerializer, responses={201: AlertThresholdSerializer})
    def create(self, request, *args, **kwargs):
        threshold = services.alert_threshold_create(user=request.user, data=self._validated())
        return Response(self.get_serializer(threshold).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AlertThresholdInputSerializer, responses={200: AlertThresholdSerializer})
    def update(self, request, *args, **kwargs):
        threshold = self.get_object()
        data = self._validated(threshold, partial=kwargs.get("partial", False))
        return Response(self.get_serializer(services.alert_threshold_update(threshold=threshold, data=data)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.alert_threshold_delete(threshold=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
