"""Paired devices made the way the API makes them (through the services), so each has a real key and code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rest_framework.test import APIClient

from iot_devices import services
from iot_devices.models import IoTDevice


@dataclass
class Paired:
    device: IoTDevice
    api_key: str
    verification_code: str | None

    def client(self, header: str = "authorization") -> APIClient:
        """An APIClient that sends this device's key, as `Authorization: Api-Key …` or `X-API-Key: …`."""
        client = APIClient()
        if header == "authorization":
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.api_key}")
        else:
            client.credentials(HTTP_X_API_KEY=self.api_key)
        return client

    def refresh(self) -> IoTDevice:
        self.device.refresh_from_db()
        return self.device


_serial = iter(range(1, 10**9))


def pair_device(owner, *, verified: bool = True, device_type: str = "smartwatch", **fields) -> Paired:
    fields.setdefault("name", f"{device_type} {next(_serial)}")
    fields.setdefault("serial_number", f"SN-{uuid.uuid4().hex[:12]}")
    credentials = services.device_create(owner=owner, device_type=device_type, **fields)
    paired = Paired(credentials.device, credentials.api_key, credentials.verification_code)
    if verified:
        services.device_verify(device=paired.device, code=paired.verification_code)
        paired.refresh()
    return paired


def reading(metric_type: str = "heart_rate", value: float = 72, *, minutes_ago: int = 60, **extra) -> dict:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    body = {"metric_type": metric_type, "recorded_at": at.isoformat()}
    if metric_type == "blood_pressure":
        body.update(systolic_value=extra.pop("systolic_value", 120), diastolic_value=extra.pop("diastolic_value", 80))
    else:
        body["value"] = value
    body.update(extra)
    return body


def heart_rates(count: int, *, start_minutes_ago: int = 10_000, step_seconds: int = 60) -> list[dict]:
    """COUNT valid heart-rate readings one STEP apart, all in the past."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=start_minutes_ago)
    return [
        {
            "metric_type": "heart_rate",
            "value": 60 + i % 40,
            "unit": "bpm",
            "recorded_at": (start + timedelta(seconds=i * step_seconds)).isoformat(),
        }
        for i in range(count)
    ]
