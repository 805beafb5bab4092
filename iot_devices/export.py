"""The person's devices (never their keys or pairing codes), upload batches and alerts for `auth/export/`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .models import DeviceAlert, DeviceDataBatch, IoTDevice

DEVICE_FIELDS = (
    "id",
    "name",
    "device_type",
    "manufacturer",
    "model",
    "serial_number",
    "firmware_version",
    "status",
    "is_verified",
    "configuration",
    "last_seen_at",
    "battery_level",
    "signal_strength",
    "created_at",
)
BATCH_FIELDS = (
    "id",
    "device_id",
    "device_batch_id",
    "status",
    "received_count",
    "accepted_count",
    "already_stored_count",
    "rejected_count",
    "errors",
    "received_at",
    "completed_at",
)
ALERT_FIELDS = ("id", "device_id", "alert_type", "severity", "message", "created_at", "is_resolved", "resolved_at")


def _rows(queryset, fields) -> Iterator[dict]:
    for row in queryset.values(*fields).iterator(chunk_size=500):
        yield {k: (str(v) if k.endswith("id") and v is not None else v) for k, v in row.items()}


def export_sections(user) -> Iterator[tuple[str, Iterable[dict]]]:
    yield "devices", _rows(IoTDevice.objects.filter(owner=user).order_by("created_at"), DEVICE_FIELDS)
    yield (
        "device_batches",
        _rows(DeviceDataBatch.objects.filter(device__owner=user).order_by("received_at"), BATCH_FIELDS),
    )
    yield "device_alerts", _rows(DeviceAlert.objects.filter(device__owner=user).order_by("created_at"), ALERT_FIELDS)
