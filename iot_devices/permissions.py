"""What a device may do, by its state. Every refusal here is 403: the key is valid, the device is not allowed."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.permissions import BasePermission

from .choices import DeviceStatus
from .exceptions import KeyExpired
from .models import IoTDevice

# A device that reports an error is still paired and still uploads; inactive and revoked ones are cut off.
LIVE_STATUSES = (DeviceStatus.PENDING_VERIFICATION, DeviceStatus.ACTIVE, DeviceStatus.ERROR)


def _device(request) -> IoTDevice | None:
    """The authenticated device; a device whose key has expired is refused here, before any other check."""
    device = request.auth if isinstance(request.auth, IoTDevice) else None
    if device is not None:
        expires_at = device.key_expires_at
        if expires_at is not None and expires_at <= timezone.now():
            raise KeyExpired(
                f"This API key expired on {expires_at.date().isoformat()}; the owner rotates it from the app."
            )
    return device


class IsLiveDevice(BasePermission):
    """A device that is neither deactivated nor revoked (verified or not)."""

    message = "This device has been deactivated."

    def has_permission(self, request, view) -> bool:
        device = _device(request)
        return device is not None and device.status in LIVE_STATUSES


class IsVerifiedDevice(BasePermission):
    """A live device that has proved its pairing code: only these upload readings."""

    message = "This device is not verified or has been deactivated."

    def has_permission(self, request, view) -> bool:
        device = _device(request)
        return device is not None and device.is_verified and device.status in LIVE_STATUSES
