"""Notifications endpoints of API.md: thin views over notifications.services and notifications.selectors.

Every queryset is the person's own, so another person's notification or contact answers 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.viewsets import BaseViewSet

from . import selectors, services
from .filters import NotificationFilter
from .models import EmergencyContact, Notification
from .serializers import (
    EmergencyContactInputSerializer,
    EmergencyContactSerializer,
    NotificationSerializer,
    PreferencesInputSerializer,
    PreferencesSerializer,
    PushTokenDeleteSerializer,
    PushTokenInputSerializer,
    PushTokenSerializer,
    ReadAllResultSerializer,
    UnreadCountSerializer,
)

TAGS = ["notifications"]


@extend_schema(tags=TAGS)
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """The person's inbox, newest first; filters `is_read` and `category`."""

    serializer_class = NotificationSerializer
    model = Notification
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def scoped_queryset(self):
        return selectors.notification_list(user=self.request.user)

    @extend_schema(request=None, responses={200: UnreadCountSerializer})
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"count": selectors.notification_unread_count(user=request.user)})

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: ReadAllResultSerializer})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"updated": services.notifications_mark_all_read(user=request.user)})


class PreferencesView(APIView):
    @extend_schema(tags=TAGS, responses={200: PreferencesSerializer})
    def get(self, request):
        return Response(PreferencesSerializer(selectors.preferences_get(user=request.user)).data)

    @extend_schema(tags=TAGS, request=PreferencesInputSerializer, responses={200: PreferencesSerializer})
    def put(self, request):
        data = PreferencesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        quiet = None
        if "quiet_hours_start" in values:
            quiet = (values["quiet_hours_start"], values["quiet_hours_end"])
        services.preferences_update(user=request.user, categories=values.get("categories", {}), quiet_hours=quiet)
        return Response(PreferencesSerializer(selectors.preferences_get(user=request.user)).data)


class PushTokenView(APIView):
    @extend_schema(
        tags=TAGS,
        request=PushTokenInputSerializer,
        responses={
            200: PushTokenSerializer,
            201: PushTokenSerializer,
            409: OpenApiResponse(ErrorEnvelopeSerializer, "Registered to another account"),
        },
        description=(
            "Register a token (201), or refresh one already registered (200): idempotent per token. A token "
            "registered to another account answers 409 unless the same `installation_id` registered it."
        ),
    )
    def post(self, request):
        data = PushTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, created = services.push_token_register(user=request.user, **data.validated_data)
        return Response(PushTokenSerializer(token).data, status=status.HTTP_201_CREATED if created else 200)

    @extend_schema(tags=TAGS, request=PushTokenDeleteSerializer, responses={204: None})
    def delete(self, request):
        data = PushTokenDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.push_token_remove(user=request.user, token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class _OwnedCrudViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    """CRUD over the person's own rows: input serializer → one service → output serializer."""

    input_serializer_class: type
    filter_backends: list = []

    def _validated(self, instance=None, partial: bool = False) -> dict:
        data = self.input_serializer_class(instance=instance, data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def _create(self, obj) -> Response:
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
@extend_schema_view(
    partial_update=extend_schema(request=EmergencyContactInputSerializer, responses={200: EmergencyContactSerializer})
)
class EmergencyContactViewSet(_OwnedCrudViewSet):
    serializer_class = EmergencyContactSerializer
    model = EmergencyContact
    input_serializer_class = EmergencyContactInputSerializer

    def scoped_queryset(self):
        return selectors.emergency_contact_list(user=self.request.user)

    @extend_schema(request=EmergencyContactInputSerializer, responses={201: EmergencyContactSerializer})
    def create(self, request, *args, **kwargs):
        return self._create(services.emergency_contact_create(user=request.user, data=self._validated()))

    @extend_schema(request=EmergencyContactInputSerializer, responses={200: EmergencyContactSerializer})
    def update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = self._validated(contact, partial=kwargs.get("partial", False))
        return Response(self.get_serializer(services.emergency_contact_update(contact=contact, data=data)).data)

    def destroy(self, request, *args, **kwargs):
        services.emergency_contact_delete(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
