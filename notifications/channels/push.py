"""Push through Expo to every active push token of the recipient.

The outcome per token is kept in the delivery's `provider_receipts`, so a retry after a partial failure (one batch
answered 500, one token rate-limited) sends only to the tokens that have no outcome yet: nobody gets the same
push twice. A `DeviceNotRegistered` ticket deactivates its token. The message carries the title and body and, as
data, only the notification's id, category and severity: the app fetches the rest over the authenticated API,
so no health values travel through Expo, Apple or Google.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from notifications import expo
from notifications.choices import Channel, Severity
from notifications.models import PushToken

from .base import BaseChannel, DeliverySkipped, PermanentDeliveryError, SendResult, TransientDeliveryError

if TYPE_CHECKING:
    from notifications.models import Notification, NotificationDelivery

DEVICE_NOT_REGISTERED = "DeviceNotRegistered"
# Per-ticket errors worth another attempt later; every other error code is final for that token.
TRANSIENT_TICKET_ERRORS = frozenset({"MessageRateExceeded"})


class PushChannel(BaseChannel):
    name = Channel.PUSH

    def send(self, delivery: NotificationDelivery) -> SendResult:
        notification = delivery.notification
        receipts: dict[str, dict] = dict(delivery.provider_receipts or {})
        tokens = list(
            PushToken.objects.filter(user_id=notification.recipient_id, is_active=True)
            .exclude(id__in=[token_id for token_id in receipts])
            .order_by("created_at")
        )
        if not tokens and not receipts:
            raise DeliverySkipped("no active push token")

        transient: str | None = None
        delivered: list = []
        unregistered: list = []
        for start in range(0, len(tokens), expo.MAX_MESSAGES_PER_REQUEST):
            batch = tokens[start : start + expo.MAX_MESSAGES_PER_REQUEST]
            try:
                tickets = expo.send_push([message_for(notification, token.token) for token in batch])
            except expo.ExpoTransientError as exc:
                transient = str(exc)
                continue
            except expo.ExpoPermanentError as exc:
                receipts.update({str(token.id): {"status": "error", "error": str(exc)} for token in batch})
                continue
            for token, ticket in zip(batch, tickets, strict=True):
                if ticket.ok:
                    receipts[str(token.id)] = {"status": "ok", "id": ticket.id}
                    delivered.append(token.id)
                elif ticket.error in TRANSIENT_TICKET_ERRORS:
                    transient = f"Expo ticket error {ticket.error}"
                else:
                    receipts[str(token.id)] = {"status": "error", "error": ticket.error}
                    if ticket.error == DEVICE_NOT_REGISTERED:
                        unregistered.append(token.id)

        now = timezone.now()
        if unregistered:
            PushToken.objects.filter(id__in=unregistered).update(is_active=False, updated_at=now)
        if delivered:
            PushToken.objects.filter(id__in=delivered).update(last_used_at=now)
        if transient is not None:
            raise TransientDeliveryError(transient, receipts=receipts)
        ticket_ids = [receipt["id"] for receipt in receipts.values() if receipt.get("status") == "ok"]
        if not ticket_ids:
            errors = sorted({receipt.get("error", "") for receipt in receipts.values()})
            raise PermanentDeliveryError(f"every push token was refused: {', '.join(errors)}", receipts=receipts)
        return SendResult(provider_id=",".join(ticket_ids)[:255], receipts=receipts)


def message_for(notification: Notification, token: str) -> dict:
    return {
        "to": token,
        "title": notification.title,
        "body": notification.body,
        "data": {
            "notification_id": str(notification.id),
            "category": notification.category,
            "severity": notification.severity,
        },
        "sound": "default",
        "priority": "high" if notification.severity == Severity.CRITICAL else "default",
    }
