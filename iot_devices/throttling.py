"""Per-device throttles, keyed by the device id (never by IP: many devices share a home router)."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings

from .models import IoTDevice


class _DeviceThrottle(throttling.SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read at request time, not import time, so an override of the rates (tests, settings) applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, IoTDevice):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class DeviceRateThrottle(_DeviceThrottle):
    """Every device endpoint: `device` scope (THROTTLE_RATES)."""

    scope = "device"


class DeviceVerifyRateThrottle(_DeviceThrottle):
    """Pairing-code attempts: `device_verify` scope, on top of the code being burned after a few wrong tries."""

    scope = "device_verify"
