"""Health devices that belong to a person and upload readings with their own key."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .choices import DeviceStatus, DeviceType


class IoTDevice(models.Model):
    """A paired device. Readings it uploads are stored under its owner, with the device as their source."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=120)
    device_type = models.CharField(max_length=32, choices=DeviceType.choices)
    manufacturer = models.CharField(max_length=120, blank=True)
    model = models.CharField(max_length=120, blank=True)
    serial_number = models.CharField(max_length=120)
    firmware_version = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24, choices=DeviceStatus.choices, default=DeviceStatus.PENDING_VERIFICATION)
    is_verified = models.BooleanField(default=False)
    configuration = models.JSONField(default=dict, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    battery_level = models.PositiveSmallIntegerField(null=True, blank=True)
    signal_strength = models.SmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "serial_number"], name="iot_device_owner_serial_unique"),
        ]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.device_type})"
