"""What the device app tells a device's owner, and the device conditions it hands to the alert rules.

A device that stopped sending or runs low is an alert rule (alerts app): its episode opens when the condition is
raised and closes when it ends, and alerts words the notification. The device's own troubles (an error it
reported, an upload that failed, a key about to expire) are told here, in this app's words, through `notify`;
once per alert or key (their dedupe keys). Logs carry identifiers, never health values.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from alerts.choices import Rule
from alerts.facts import DeviceCondition
from alerts.services import device_condition_changed
from notifications.choices import Category, Severity
from notifications.services import notify

from .choices import AlertType

if TYPE_CHECKING:
    from .models import DeviceAlert, IoTDevice

logger = logging.getLogger("jeghealth.device_alerts")

ALERT_RULES = {AlertType.OFFLINE: Rule.DEVICE_OFFLINE, AlertType.LOW_BATTERY: Rule.DEVICE_LOW_BATTERY}


def alert_raised(alert: DeviceAlert) -> None:
    """Called once per new device alert, inside the transaction that stored it."""
    device = alert.device
    logger.info(
        "device_alert_raised",
        extra={
            "alert_id": str(alert.id),
            "device_id": str(alert.device_id),
            "alert_type": alert.alert_type,
            "severity": alert.severity,
        },
    )
    rule = ALERT_RULES.get(alert.alert_type)
    if rule is not None:
        device_condition_changed(
            condition=DeviceCondition(
                owner_id=device.owner_id,
                device_id=device.pk,
                device_name=device.name,
                rule=rule,
                active=True,
                at=alert.created_at,
                battery_level=device.battery_level,
                last_seen_at=device.last_seen_at,
            )
        )
        return
    severity = alert.severity if alert.severity in Severity.values else Severity.WARNING
    notify(
        user=device.owner,
        category=Category.DEVICE_ALERT,
        title=f"{device.name}: {alert.get_alert_type_display().lower()}",
        body=alert.message,
        data={"alert_id": str(alert.pk), "device_id": str(device.pk), "alert_type": alert.alert_type},
        severity=severity,
        dedupe_key=f"device_alert:{alert.pk}",
    )


def alert_ended(*, device: IoTDevice, alert_type: str, at: datetime) -> None:
    """A condition of the device ended (it was heard from, its battery recovered, its owner resolved it)."""
    rule = ALERT_RULES.get(alert_type)
    if rule is not None:
        device_condition_changed(
            condition=DeviceCondition(
                owner_id=device.owner_id, device_id=device.pk, device_name=device.name, rule=rule, active=False, at=at
            )
        )


def key_expiring(device: IoTDevice) -> None:
    """Called for a device whose key expires within IOT_API_KEY_WARN_DAYS; the owner hears of it once per key."""
    expires_at = device.key_expires_at
    logger.info("device_key_expiring", extra={"device_id": str(device.pk), "expires_at": str(expires_at)})
    when = expires_at.date().isoformat()
    notify(
        user=device.owner,
        category=Category.DEVICE_ALERT,
        title=f"{device.name}: its key expires on {when}",
        body=f"Give {device.name} a new key in the app before {when}, or it will stop uploading readings.",
        data={"device_id": str(device.pk), "api_key_expires_at": expires_at.isoformat()},
        severity=Severity.WARNING,
        dedupe_key=f"device_key_expiring:{device.pk}:{device.key_prefix}",
    )
