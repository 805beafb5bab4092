"""Health devices that belong to a person and upload readings with their own key."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import keys
from .choices import AlertSeverity, AlertType, BatchStatus, DeviceStatus, DeviceType


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
    # The API key: only its SHA-256 is kept, found through a short random prefix that is part of the key.
    # A revoked device has no prefix, so no key can ever find it again.
    key_prefix = models.CharField(max_length=16, unique=True, null=True, blank=True, editable=False)
    key_hash = models.CharField(max_length=64, blank=True, editable=False)
    key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The pairing code shown to the owner: keyed hash only, burned after too many wrong tries.
    verification_code_hash = models.CharField(max_length=64, blank=True, editable=False)
    verification_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "IoT device"
        verbose_name_plural = "IoT devices"
        constraints = [
            models.UniqueConstraint(fields=["owner", "serial_number"], name="iot_device_owner_serial_unique"),
        ]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.device_type})"

    @property
    def key_expires_at(self) -> datetime | None:
        """When the current key stops working (None: no key, or keys do not expire)."""
        return keys.key_expires_at(self.key_rotated_at) if self.key_prefix else None


class DeviceDataBatch(models.Model):
    """One upload of readings, stored as received and then processed by a worker in chunks.

    Invariants: (device, device_batch_id) is unique, so a replayed upload finds the first one. Once the status is final
    the counts are settled: received = accepted + rejected, and accepted includes `already_stored_count` readings
    that an earlier overlapping batch had stored. `processed_count` is the position the worker has reached; it is
    committed with each chunk's readings, so a redelivered task resumes where the last commit left off.
    `lease_token`/`lease_expires_at` say which delivery owns the batch and until when; `attempts` counts claims.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(IoTDevice, on_delete=models.CASCADE, related_name="batches")
    device_batch_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.RECEIVED)
    payload = models.JSONField(default=list)
    received_count = models.PositiveIntegerField()
    processed_count = models.PositiveIntegerField(default=0)
    accepted_count = models.PositiveIntegerField(default=0)
    already_stored_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "device data batches"
        constraints = [
            models.UniqueConstraint(fields=["device", "device_batch_id"], name="iot_batch_device_batch_id_unique"),
        ]
        indexes = [
            models.Index(fields=["device", "-received_at"], name="iot_batch_device_recv_idx"),
            # The sweeper looks for unfinished batches only: keep that index small.
            models.Index(
                fields=["status", "lease_expires_at"],
                name="iot_batch_unfinished_idx",
                condition=Q(status__in=[BatchStatus.RECEIVED, BatchStatus.PROCESSING]),
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.device_batch_id} of {self.device_id} ({self.status})"


class DeviceAlert(models.Model):
    """Something the owner should know about a device. At most one open alert per device and type."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(IoTDevice, on_delete=models.CASCADE, related_name="alerts")
    alert_type = models.CharField(max_length=16, choices=AlertType.choices)
    severity = models.CharField(max_length=8, choices=AlertSeverity.choices, default=AlertSeverity.WARNING)
    message = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    is_resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "alert_type"], condition=Q(is_resolved=False), name="iot_alert_one_open_per_type"
            ),
        ]
        indexes = [models.Index(fields=["device", "-created_at"], name="iot_alert_device_created_idx")]

    def __str__(self) -> str:
        return f"{self.alert_type} alert for {self.device_id}"
