"""Writes of devices: pairing, keys, verification, heartbeat and alerts. Batch ingestion is in `ingestion.py`.

Every function owns its transaction. State transitions lock the device row (`select_for_update`), so a rotation
racing a deactivation, or two verifications racing each other, are applied one after the other.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.audit import security_event_record
from accounts.choices import SecurityEventType
from alerts.services import device_forgotten
from jeghealth_backend.api.exceptions import Conflict
from jeghealth_backend.person_cache import person_data_changed

from . import keys
from .capabilities import ConfigurationInvalid, clean_configuration, offline_after
from .choices import AlertSeverity, AlertType, DeviceStatus
from .exceptions import DeviceConfigurationInvalid, DeviceSerialTaken, VerificationCodeBurned, VerificationFailed
from .models import DeviceAlert, IoTDevice
from .notices import alert_ended, alert_raised, key_expiring
from .permissions import LIVE_STATUSES

logger = logging.getLogger(__name__)

# After this many wrong pairing codes the code is burned; the owner gets a new one with rotate-key.
VERIFICATION_MAX_ATTEMPTS = 5
LOW_BATTERY_PERCENT = 20
CUT_OFF_STATUSES = (DeviceStatus.INACTIVE, DeviceStatus.REVOKED)


@dataclass(frozen=True)
class DeviceCredentials:
    """What the owner sees once: the raw key and, for a device not yet verified, the pairing code."""

    device: IoTDevice
    api_key: str
    verification_code: str | None


# --- pairing and keys ----------------------------------------------------------------------------------------


def _configuration(device_type: str, raw: Any) -> dict[str, Any]:
    try:
        return clean_configuration(device_type, raw)
    except ConfigurationInvalid as exc:
        first = next(iter(exc.fields.values()))[0]
        raise DeviceConfigurationInvalid(first, fields=exc.fields) from None


def _new_code(device: IoTDevice) -> str:
    code = keys.verification_code_generate()
    device.verification_code_hash = keys.verification_code_hash(device_id=str(device.id), code=code)
    device.verification_attempts = 0
    return code


@transaction.atomic
def device_create(
    *,
    owner,
    name: str,
    device_type: str,
    serial_number: str,
    manufacturer: str = "",
    model: str = "",
    firmware_version: str = "",
    configuration: dict | None = None,
) -> DeviceCredentials:
    """Pair a device: status `pending_verification`, a new key and pairing code returned once, hashes stored.

    Raises DeviceConfigurationInvalid, or DeviceSerialTaken when the owner already has this serial number.
    """
    new_key = keys.key_generate()
    device = IoTDevice(
        id=uuid.uuid4(),
        owner=owner,
        name=name,
        device_type=device_type,
        serial_number=serial_number,
        manufacturer=manufacturer,
        model=model,
        firmware_version=firmware_version,
        configuration=_configuration(device_type, configuration),
        status=DeviceStatus.PENDING_VERIFICATION,
        key_prefix=new_key.prefix,
        key_hash=new_key.hashed,
        key_rotated_at=timezone.now(),
    )
    code = _new_code(device)
    try:
        with transaction.atomic():
            device.save(force_insert=True)
    except IntegrityError:
        raise DeviceSerialTaken(fields={"serial_number": [DeviceSerialTaken.default_detail]}) from None
    person_data_changed(owner.pk)
    logger.info("device_created", extra={"device_id": str(device.id), "owner_id": str(owner.pk)})
    return DeviceCredentials(device=device, api_key=new_key.raw, verification_code=code)


@transaction.atomic
def device_update(*, device: IoTDevice, data: dict[str, Any]) -> IoTDevice:
    """Change the owner-editable fields; a new configuration is validated against the device type."""
    device = IoTDevice.objects.select_for_update().get(pk=device.pk)
    editable = ("name", "manufacturer", "model", "serial_number", "firmware_version")
    for field in editable:
        if field in data:
            setattr(device, field, data[field])
    if "configuration" in data:
        device.configuration = _configuration(device.device_type, data["configuration"])
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:
        raise DeviceSerialTaken(fields={"serial_number": [DeviceSerialTaken.default_detail]}) from None
    person_data_changed(device.owner_id)
    return device


@transaction.atomic
def device_delete(*, device: IoTDevice) -> None:
    """Forget the device, its batches and alerts. Readings it uploaded stay with the person (device set null)."""
    # The row lock first: an ingestion chunk that holds its key-share lock finishes before the readings are
    # unlinked, and one that comes after finds the device gone (health_metrics.storage.lock_owners).
    device = IoTDevice.objects.select_for_update().get(pk=device.pk)
    device_id, owner_id = str(device.pk), device.owner_id
    device_forgotten(owner_id=owner_id, device_id=device.pk)
    IoTDevice.objects.filter(pk=device.pk).delete()
    person_data_changed(owner_id)
    logger.info("device_deleted", extra={"device_id": device_id})


@transaction.atomic
def device_rotate_key(*, device: IoTDevice, request=None) -> DeviceCredentials:
    """A new key at once; the old one stops working on the next request (its prefix no longer exists).

    A device that is not verified yet also gets a new pairing code, with its wrong-attempt counter reset: this is
    how the owner recovers a code burned by wrong tries. A revoked device cannot be given a key again (409).
    """
    device = IoTDevice.objects.select_for_update().get(pk=device.pk)
    if device.status == DeviceStatus.REVOKED:
        raise Conflict("This device has been revoked; pair it again as a new device.")
    new_key = keys.key_generate()
    device.key_prefix = new_key.prefix
    device.key_hash = new_key.hashed
    device.key_rotated_at = timezone.now()
    code = None if device.is_verified else _new_code(device)
    device.save()
    logger.info("device_key_rotated", extra={"device_id": str(device.id)})
    security_event_record(
        event_type=SecurityEventType.DEVICE_KEY_ROTATED,
        user=device.owner,
        request=request,
        metadata={"device_id": str(device.id)},
    )
    return DeviceCredentials(device=device, api_key=new_key.raw, verification_code=code)


@transaction.atomic
def device_deactivate(*, device: IoTDevice) -> IoTDevice:
    """Status `inactive`: the key still identifies the device, which then answers 403 everywhere. Idempotent."""
    device = IoTDevice.objects.select_for_update().get(pk=device.pk)
    if device.status == DeviceStatus.REVOKED:
        raise Conflict("This device has been revoked.")
    if device.status != DeviceStatus.INACTIVE:
        device.status = DeviceStatus.INACTIVE
        device.save(update_fields=["status", "updated_at"])
        person_data_changed(device.owner_id)
        logger.info("device_deactivated", extra={"device_id": str(device.id)})
    return device


@transaction.atomic
def device_revoke(*, device: IoTDevice) -> IoTDevice:
    """Status `revoked` and the key erased (an administrator's action for a lost or compromised device)."""
    device = IoTDevice.objects.select_for_update().get(pk=device.pk)
    device.status = DeviceStatus.REVOKED
    device.key_prefix = None
    device.key_hash = ""
    device.verification_code_hash = ""
    device.save()
    person_data_changed(device.owner_id)
    logger.info("device_revoked", extra={"device_id": str(device.id)})
    return device


# --- the device's own calls ----------------------------------------------------------------------------------


def device_verify(*, device: IoTDevice, code: str) -> IoTDevice:
    """The device proves it holds the pairing code: `is_verified`, status `active`, the code erased.

    A verified device verifying again is a no-op. A wrong code counts an attempt (committed even though the call
    fails); the attempt that reaches VERIFICATION_MAX_ATTEMPTS burns the code.
    Raises VerificationFailed (400) or VerificationCodeBurned (403).
    """
    with transaction.atomic():
        device = IoTDevice.objects.select_for_update().get(pk=device.pk)
        if device.is_verified:
            return device
        burned = not device.verification_code_hash or device.verification_attempts >= VERIFICATION_MAX_ATTEMPTS
        if not burned and keys.verification_code_matches(
            device_id=str(device.id), code=code, stored_hash=device.verification_code_hash
        ):
            device.is_verified = True
            device.verified_at = timezone.now()
            device.status = DeviceStatus.ACTIVE
            device.verification_code_hash = ""
            device.verification_attempts = 0
            device.save()
            person_data_changed(device.owner_id)
            logger.info("device_verified", extra={"device_id": str(device.id)})
            return device
        if not burned:
            device.verification_attempts += 1
            device.save(update_fields=["verification_attempts", "updated_at"])
            burned = device.verification_attempts >= VERIFICATION_MAX_ATTEMPTS
    logger.warning("device_verification_failed", extra={"device_id": str(device.id), "burned": burned})
    if burned:
        raise VerificationCodeBurned()
    left = VERIFICATION_MAX_ATTEMPTS - device.verification_attempts
    raise VerificationFailed(
        f"The verification code is not valid; {left} attempt(s) left.",
        fields={"verification_code": ["The verification code is not valid."]},
    )


@transaction.atomic
def device_heartbeat(
    *,
    device: IoTDevice,
    battery_level: int | None = None,
    firmware_version: str | None = None,
    signal_strength: int | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> IoTDevice:
    """Record that the device is alive and how it is, and raise or resolve the alerts that follow.

    A battery falling under 20 % raises `low_battery` (and recovering resolves it); `status: error` sets the
    device to `error` and raises `error`, `status: active` from `error` resolves it; being heard from resolves
    `offline`.
    """
    # No dashboard invalidation per heartbeat: every device sends one every few minutes, and recomputing the
    # owner's dashboard after each would defeat its cache. The device's state there (last seen, battery, alerts a
    # heartbeat resolves) may lag by the cache's timeout (five minutes); an alert it raises invalidates at once.
    now = now or timezone.now()
    device = IoTDevice.objects.select_for_update().get(pk=device.pk)
    previous_battery, previous_status = device.battery_level, device.status
    device.last_seen_at = now
    if battery_level is not None:
        device.battery_level = battery_level
    if firmware_version is not None:
        device.firmware_version = firmware_version
    if signal_strength is not None:
        device.signal_strength = signal_strength
    if status == DeviceStatus.ERROR:
        device.status = DeviceStatus.ERROR
    elif status == DeviceStatus.ACTIVE and previous_status == DeviceStatus.ERROR:
        device.status = DeviceStatus.ACTIVE if device.is_verified else DeviceStatus.PENDING_VERIFICATION
    device.save()

    _resolve_open(device=device, alert_type=AlertType.OFFLINE, now=now)
    if battery_level is not None:
        was_low = previous_battery is not None and previous_battery < LOW_BATTERY_PERCENT
        if battery_level < LOW_BATTERY_PERCENT and not was_low:
            alert_raise(
                device=device,
                alert_type=AlertType.LOW_BATTERY,
                severity=AlertSeverity.WARNING,
                message=f"Battery at {battery_level} %.",
            )
        elif battery_level >= LOW_BATTERY_PERCENT:
            _resolve_open(device=device, alert_type=AlertType.LOW_BATTERY, now=now)
    if device.status == DeviceStatus.ERROR and previous_status != DeviceStatus.ERROR:
        alert_raise(
            device=device,
            alert_type=AlertType.ERROR,
            severity=AlertSeverity.CRITICAL,
            message="The device reported an error.",
        )
    elif previous_status == DeviceStatus.ERROR and device.status != DeviceStatus.ERROR:
        _resolve_open(device=device, alert_type=AlertType.ERROR, now=now)
    return device


def device_mark_seen(*, device: IoTDevice, now: datetime | None = None) -> None:
    """An upload is a sign of life too: last seen now, and an open offline alert resolved."""
    now = now or timezone.now()
    IoTDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
    _resolve_open(device=device, alert_type=AlertType.OFFLINE, now=now)


# --- alerts --------------------------------------------------------------------------------------------------


def alert_raise(*, device: IoTDevice, alert_type: str, severity: str, message: str) -> DeviceAlert | None:
    """Open an alert unless one of this type is already open for the device; returns the new alert or None.

    The partial unique constraint (one unresolved alert per device and type) decides, not a prior read: the
    insert ignores the conflict, so two workers raising the same alert at once store one. Handed to
    `notices.alert_raised` in the same transaction (an offline or low-battery alert opens its alert episode with
    it), and the owner's dashboard is invalidated after commit.
    """
    alert = DeviceAlert(
        id=uuid.uuid4(),
        device_id=device.pk,
        alert_type=alert_type,
        severity=severity,
        message=message[:255],
        created_at=timezone.now(),
    )
    with transaction.atomic():
        DeviceAlert.objects.bulk_create([alert], ignore_conflicts=True)
        # ignore_conflicts does not say whether the row went in; our id does.
        created = DeviceAlert.objects.filter(pk=alert.pk).exists()
        if created:
            alert.device = device
            alert_raised(alert)
            person_data_changed(device.owner_id)
    return alert if created else None


def _resolve_open(*, device: IoTDevice, alert_type: str, now: datetime) -> int:
    resolved = DeviceAlert.objects.filter(device_id=device.pk, alert_type=alert_type, is_resolved=False).update(
        is_resolved=True, resolved_at=now
    )
    if resolved:
        alert_ended(device=device, alert_type=alert_type, at=now)
    return resolved


@transaction.atomic
def alert_resolve(*, alert: DeviceAlert) -> DeviceAlert:
    """The owner marks the alert resolved. Resolving a resolved alert changes nothing."""
    alert = DeviceAlert.objects.select_for_update(of=("self",)).select_related("device").get(pk=alert.pk)
    if not alert.is_resolved:
        alert.is_resolved = True
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["is_resolved", "resolved_at"])
        alert_ended(device=alert.device, alert_type=alert.alert_type, at=alert.resolved_at)
        person_data_changed(alert.device.owner_id)
    return alert


def devices_check_offline(*, now: datetime | None = None) -> int:
    """Raise `offline` for every live, verified device silent longer than `capabilities.offline_after` allows.

    A device is alerted once per silence: one with an offline alert (open or already resolved by its owner)
    raised after it was last seen is skipped. Returns how many alerts were raised.
    """
    now = now or timezone.now()
    from .capabilities import OFFLINE_MINIMUM

    alerted_since_seen = DeviceAlert.objects.filter(
        device=OuterRef("pk"), alert_type=AlertType.OFFLINE, created_at__gte=OuterRef("last_seen_at")
    )
    candidates = (
        IoTDevice.objects.filter(
            Q(status=DeviceStatus.ACTIVE) | Q(status=DeviceStatus.ERROR),
            is_verified=True,
            last_seen_at__lt=now - OFFLINE_MINIMUM,
        )
        .filter(~Exists(alerted_since_seen))
        # owner_id: alert_raise invalidates the owner's dashboard, without a query per device to find them.
        .only("id", "owner_id", "device_type", "configuration", "last_seen_at")
    )
    raised = 0
    for device in candidates.iterator(chunk_size=500):
        if now - device.last_seen_at < offline_after(device.device_type, device.configuration):
            continue
        alert = alert_raise(
            device=device,
            alert_type=AlertType.OFFLINE,
            severity=AlertSeverity.WARNING,
            message=f"Not heard from since {device.last_seen_at.isoformat(timespec='minutes')}.",
        )
        raised += alert is not None
    return raised


def devices_warn_expiring_keys(*, now: datetime | None = None) -> int:
    """Tell the owner of every live device whose key expires within IOT_API_KEY_WARN_DAYS (or expired as long
    ago: a missed day of the schedule is made up). Once per key, by the notification's dedupe key. Returns how
    many devices were in the window."""
    lifetime = settings.IOT_API_KEY_LIFETIME_DAYS
    if not lifetime:
        return 0
    now = now or timezone.now()
    warn = timedelta(days=settings.IOT_API_KEY_WARN_DAYS)
    # A key expires at key_rotated_at + lifetime: in the window when that falls in [now - warn, now + warn].
    issued_before = now + warn - timedelta(days=lifetime)
    devices = IoTDevice.objects.filter(
        status__in=LIVE_STATUSES,
        key_prefix__isnull=False,
        key_rotated_at__lte=issued_before,
        key_rotated_at__gte=issued_before - 2 * warn,
    ).select_related("owner")
    count = 0
    for device in devices.iterator(chunk_size=500):
        key_expiring(device)
        count += 1
    return count
