"""Writes of notifications. Other apps call `notify` from here only.

- delivery.py: `notify` (with its messages to emergency contacts), and the engine that sends, retries and
  dispatches deliveries.
- receipts.py: Expo's push receipts, which deactivate the tokens Expo no longer knows.
- person.py: what the person manages: read state, preferences, push tokens, emergency contacts.

Notifications only deliver: the apps that own the facts (alerts, devices, appointments, medications) decide
what to tell and write the words.
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
from .person import (
    MAX_ACTIVE_PUSH_TOKENS,
    MAX_EMERGENCY_CONTACTS,
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
    "LEASE",
    "MAX_ACTIVE_PUSH_TOKENS",
    "MAX_ATTEMPTS",
    "MAX_EMERGENCY_CONTACTS",
    "RECEIPT_DELAY",
    "RECEIPT_LIFETIME",
    "STALE_AFTER",
    "ContactMessage",
    "deliveries_dispatch_due",
    "deliveries_requeue",
    "delivery_send",
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
]
