"""The boundary between device alerts and whoever tells the owner about them.

`alert_raised` is called once per new alert, after the transaction that stored it has committed. It logs
(identifiers, never health values) and hands the alert to the notifications service, which tells the owner once
per alert (its dedupe key), through the channels the owner's preferences allow.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from notifications.services import device_alert_notify, device_key_expiring_notify

if TYPE_CHECKING:
    from .models import DeviceAlert, IoTDevice

logger = logging.getLogger("jeghealth.device_alerts")


def alert_raised(alert: DeviceAlert) -> None:
    logger.info(
        "device_alert_raised",
        extra={
            "alert_id": str(alert.id),
            "device_id": str(alert.device_id),
            "alert_type": alert.alert_type,
            "severity": alert.severity,
        },
    )
    device_alert_notify(alert=alert)


def key_expiring(device: IoTDevice) -> None:
    """Called for a device whose key expires within IOT_API_KEY_WARN_DAYS; the owner hears of it once per key."""
    logger.info("device_key_expiring", extra={"device_id": str(device.pk), "expires_at": str(device.key_expires_at)})
    device_key_expiring_notify(device=device)
