"""Device authentication: `Authorization: Api-Key <key>` or `X-API-Key: <key>`, yielding a device, never a user.

`request.user` becomes a `DevicePrincipal` (an AnonymousUser: it passes no person's permission check) and
`request.auth` the device. A person's Bearer token is not looked at here, so device endpoints, which use only
this class, answer it 401; person endpoints use only the JWT class, which ignores these headers and answers 401.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import keys
from .models import IoTDevice

SCHEME = "Api-Key"
# last_used_at is for people reading the admin, not an audit log: one write a minute per device is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)
AUTH_FIELDS = (
    "id",
    "owner_id",
    "status",
    "is_verified",
    "device_type",
    "configuration",
    "key_prefix",
    "key_hash",
    "key_rotated_at",
    "last_used_at",
)


class DevicePrincipal(AnonymousUser):
    """Stands in for `request.user` on device requests: not a person, not authenticated as one."""

    def __init__(self, device: IoTDevice):
        self.device_id = device.id

    def __str__(self) -> str:
        return f"device:{self.device_id}"


class DeviceKeyAuthentication(authentication.BaseAuthentication):
    """Finds the device by its key's prefix and compares the key's hash in constant time."""

    def authenticate(self, request):
        raw = self._raw_key(request)
        if raw is None:
            return None
        prefix = keys.key_prefix(raw)
        device = None
        if prefix is not None:
            device = IoTDevice.objects.filter(key_prefix=prefix).only(*AUTH_FIELDS).first()
        if device is None or not keys.key_matches(raw, device.key_hash):
            raise exceptions.AuthenticationFailed("This API key is not valid.")
        self._touch(device)
        request._request.auth_device_id = str(device.id)
        return DevicePrincipal(device), device

    def authenticate_header(self, request) -> str:
        return SCHEME

    @staticmethod
    def _raw_key(request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != SCHEME.lower():
                return None  # someone else's scheme (a Bearer token): not ours to judge
            value = value.strip()
            if not value:
                raise exceptions.AuthenticationFailed("The Api-Key header carries no key.")
            return value
        value = request.META.get("HTTP_X_API_KEY", "").strip()
        return value or None

    @staticmethod
    def _touch(device: IoTDevice) -> None:
        now = timezone.now()
        if device.last_used_at is not None and now - device.last_used_at < LAST_USED_RESOLUTION:
            return
        # Conditional, so concurrent requests of one device write at most once per minute between them.
        IoTDevice.objects.filter(pk=device.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        device.last_used_at = now


class DeviceKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "iot_devices.authentication.DeviceKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        # The same definition as SPECTACULAR_SETTINGS' APPEND_COMPONENTS, which declares it for other tooling.
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Device key: `Authorization: Api-Key <key>` (or the header `X-API-Key: <key>`).",
        }
