"""Writes of notifications. Other apps call `notify` (and the alert entry points) from here only.

- delivery.py: `notify` (with its messages to emergency contacts), and the engine that sends, retries and
  dispatches deliveries.
- receipts.py: Expo's push receipts, which deactivate the tokens Expo no longer knows.
- health_alerts.py: threshold crossings and their episodes, anomaly and device alerts.
- person.py: what the person manages: read state, preferences, push tokens, emergency contacts, thresholds.
"""

from notifications.contact_message import ContactMessage

from .delivery import (
    CONTACT_QUOTA_WINDOW,
    DISPATCH_BATCH,
    LEASE,
    MAX_ATTEMPTS,
    STALE_AFTER,
    deliveries_dispatch_due,
    deliveries_requeue,
    delivery_send,
    notify,
)
from .health_alerts import (
    EPISODE_GAP,
    MAX_READING_AGE,
    anomaly_notify,
    device_alert_notify,
    device_key_expiring_notify,
    readings_check_thresholds,
)
from .person import (
    MAX_ACTIVE_PUSH_TOKENS,
    MAX_EMERGENCY_CONTACTS,
    alert_threshold_create,
    alert_threshold_delete,
    alert_threshold_update,
    emergency_contact_create,
    emergency_contact_delete,
    emergency_contact_update,
    notification_mark_read,
    notifications_mark_all_read,
    preferences_update,
    push_token_register,
    push_token_remove,
)
from .receipts import RECEIPT_DELAY, RECEIPT_LIFETIME, push_receipts_check

__all__ = [
    "CONTACT_QUOTA_WINDOW",
    "DISPATCH_BATCH",
    "EPISODE_GAP",
    "LEASE",
    "MAX_ACTIVE_PUSH_TOKENS",
    "MAX_ATTEMPTS",
    "MAX_EMERGENCY_CONTACTS",
    "MAX_READING_AGE",
    "RECEIPT_DELAY",
    "RECEIPT_LIFETIME",
    "STALE_AFTER",
    "ContactMessage",
    "alert_threshold_create",
    "alert_threshold_delete",
    "alert_threshold_update",
    "anomaly_notify",
    "deliveries_dispatch_due",
    "deliveries_requeue",
    "delivery_send",
    "device_alert_notify",
    "device_key_expiring_notify",
    "emergency_contact_create",
    "emergency_contact_delete",
    "emergency_contact_update",
    "notification_mark_read",
    "notifications_mark_all_read",
    "notify",
    "preferences_update",
    "push_receipts_check",
    "push_token_register",
    "push_token_remove",
    "readings_check_thresholds",
]
