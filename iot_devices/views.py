"""IoT device endpoints of API.md: the owner's (Bearer) and the device's own (Api-Key). Thin: validate, call one
service or selector, serialize."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from jeghealth_backend.api.exceptions import PayloadTooLarge
from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.viewsets import BaseViewSet

from . import ingestion, selectors, services
from .authentication import DeviceKeyAuthentication
from .filters import AlertFilter, BatchFilter, DeviceFilter
from .models import DeviceAlert, DeviceDataBatch, IoTDevice
from .permissions import IsLiveDevice, IsVerifiedDevice
from .serializers import (
    AlertSerializer,
    BatchAcceptedSerializer,
    BatchSerializer,
    BatchUploadInputSerializer,
    DeviceConfigSerializer,
    DeviceCreatedSerializer,
    DeviceCreateInputSerializer,
    DeviceSerializer,
    DeviceUpdateInputSerializer,
    HeartbeatInputSerializer,
    HeartbeatSerializer,
    KeyRotatedSerializer,
    VerifiedSerializer,
    VerifyInputSerializer,
)
from .throttling import DeviceRateThrottle, DeviceVerifyRateThrottle

TAGS = ["devices"]
DEVICE_TAGS = ["devices (device API)"]


def _credentials_payload(serializer_class, credentials: services.DeviceCredentials) -> dict:
    data = dict(serializer_class(credentials.device).data)
    data["api_key"] = credentials.api_key
    data["verification_code"] = credentials.verification_code
    return data


# --- the owner's endpoints -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="The owner's devices"),
    retrieve=extend_schema(tags=TAGS, summary="One device"),
)
class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    serializer_class = DeviceSerializer
    model = IoTDevice
    filterset_class = DeviceFilter
    ordering_fields = ["created_at", "name", "last_seen_at", "status", "device_type"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.device_list(owner=self.request.user)

    @extend_schema(
        tags=TAGS,
        summary="Pair a device",
        request=DeviceCreateInputSerializer,
        responses={201: DeviceCreatedSerializer},
    )
    def create(self, request):
        data = DeviceCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = services.device_create(owner=request.user, **data.validated_data)
        return Response(_credentials_payload(DeviceSerializer, credentials), status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS, summary="Change a device", request=DeviceUpdateInputSerializer, responses={200: DeviceSerializer}
    )
    def partial_update(self, request, pk=None):
        device = self.get_object()
        data = DeviceUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        device = services.device_update(device=device, data=data.validated_data)
        return Response(DeviceSerializer(device).data)

    @extend_schema(tags=TAGS, summary="Forget a device", responses={204: None})
    def destroy(self, request, pk=None):
        services.device_delete(device=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        summary="Give the device a new API key",
        request=None,
        responses={200: KeyRotatedSerializer, 409: OpenApiResponse(ErrorEnvelopeSerializer, "Device revoked")},
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        credentials = services.device_rotate_key(device=self.get_object(), request=request)
        return Response(_credentials_payload(DeviceSerializer, credentials))

    @extend_schema(
        tags=TAGS,
        summary="Deactivate the device (it answers 403 from then on)",
        request=None,
        responses={200: DeviceSerializer, 409: OpenApiResponse(ErrorEnvelopeSerializer, "Device revoked")},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        device = services.device_deactivate(device=self.get_object())
        return Response(DeviceSerializer(device).data)


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="A device's upload batches"),
    retrieve=extend_schema(tags=TAGS, summary="One upload batch, with the rejected readings"),
)
class DeviceBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    serializer_class = BatchSerializer
    model = DeviceDataBatch
    filterset_class = BatchFilter
    ordering_fields = ["received_at", "status"]

    def scoped_queryset(self):
        return selectors.batch_list(owner=self.request.user, device_id=self.kwargs["device_pk"])


@extend_schema_view(list=extend_schema(tags=TAGS, summary="Alerts of the owner's devices"))
class AlertViewSet(mixins.ListModelMixin, BaseViewSet):
    serializer_class = AlertSerializer
    model = DeviceAlert
    filterset_class = AlertFilter
    ordering_fields = ["created_at", "severity", "alert_type"]

    def scoped_queryset(self):
        return selectors.alert_list(owner=self.request.user)

    @extend_schema(tags=TAGS, summary="Resolve an alert", request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        alert = services.alert_resolve(alert=selectors.alert_get(owner=request.user, alert_id=pk))
        return Response(AlertSerializer(alert).data)


# --- the device's own endpoints ------------------------------------------------------------------------------


class DeviceAPIView(APIView):
    """Base of the device endpoints: Api-Key only (a Bearer token answers 401), a live device, per-device throttle."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsLiveDevice]
    throttle_classes = [DeviceRateThrottle]


class DeviceVerifyView(DeviceAPIView):
    throttle_classes = [DeviceRateThrottle, DeviceVerifyRateThrottle]

    @extend_schema(
        tags=DEVICE_TAGS,
        summary="Prove the pairing code; the device becomes active",
        request=VerifyInputSerializer,
        responses={200: VerifiedSerializer},
    )
    def post(self, request):
        data = VerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_verify(device=request.auth, code=data.validated_data["verification_code"])
        return Response(VerifiedSerializer(device).data)


class DeviceConfigView(DeviceAPIView):
    @extend_schema(tags=DEVICE_TAGS, summary="The device's configuration", responses={200: DeviceConfigSerializer})
    def get(self, request):
        return Response(DeviceConfigSerializer(request.auth).data)


class DeviceHeartbeatView(DeviceAPIView):
    @extend_schema(
        tags=DEVICE_TAGS,
        summary="Report battery, firmware, signal and status",
        request=HeartbeatInputSerializer,
        responses={200: HeartbeatSerializer},
    )
    def post(self, request):
        data = HeartbeatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_heartbeat(device=request.auth, **data.validated_data)
        return Response(HeartbeatSerializer(device).data)


class DeviceBatchUploadView(DeviceAPIView):
    permission_classes = [IsVerifiedDevice]

    @extend_schema(
        tags=DEVICE_TAGS,
        summary="Upload up to 5,000 readings; processed asynchronously",
        request=BatchUploadInputSerializer,
        responses={
            202: BatchAcceptedSerializer,
            200: OpenApiResponse(BatchAcceptedSerializer, "This batch_id was uploaded before: the same batch"),
        },
    )
    def post(self, request):
        # Refused from the declared length, before a byte of the body is read or parsed.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.IOT_BATCH_MAX_BODY_BYTES:
            raise PayloadTooLarge(f"A batch body may not exceed {settings.IOT_BATCH_MAX_BODY_BYTES} bytes.")
        data = BatchUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch, created = ingestion.batch_receive(device=request.auth, **data.validated_data)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(BatchAcceptedSerializer(batch).data, status=code)
