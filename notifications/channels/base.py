"""The contract of a delivery channel: send one delivery, or say why not in a way the engine can act on.

`services.delivery_send` claims the delivery row, calls `send` outside any transaction, and records the
outcome: a `SendResult` marks it sent, `DeliverySkipped` skipped, `PermanentDeliveryError` failed for good,
and `TransientDeliveryError` puts it back to pending for a retry with backoff (up to a cap of attempts).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from notifications.models import NotificationDelivery


class DeliveryError(Exception):
    """Base of the outcomes a channel reports instead of a result.

    `receipts` carries what was already delivered (push: per token), so that a retry sends only the rest.
    Messages are stored in `last_error`: they hold codes and counts, never addresses, tokens or health values.
    """

    def __init__(self, message: str, *, receipts: dict | None = None):
        super().__init__(message)
        self.receipts = receipts


class TransientDeliveryError(DeliveryError):
    """Worth retrying: a connection error, a timeout, a 5xx or 429, an answer we could not understand."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: a refused recipient, a 4xx, a token that is not registered any more."""


class DeliverySkipped(DeliveryError):
    """Nothing to send to or nothing to send with (no active push token, an unverified e-mail address, SMS not
    configured): not a failure."""


@dataclass
class SendResult:
    provider_id: str = ""
    receipts: dict = field(default_factory=dict)


class BaseChannel(ABC):
    """One way of reaching a person. Subclasses live one per module in this package."""

    name: ClassVar[str]
    # True when storing the notification is the delivery itself (in-app): its row is `sent` on creation.
    delivered_on_creation: ClassVar[bool] = False
    # True when quiet hours hold this channel's non-critical deliveries back.
    respects_quiet_hours: ClassVar[bool] = True
    # True when the channel reaches the recipient themselves (by their preference flag for it); false for a
    # channel that only reaches emergency contacts (SMS).
    reaches_recipient: ClassVar[bool] = True

    @abstractmethod
    def send(self, delivery: NotificationDelivery) -> SendResult:
        """Send DELIVERY (claimed by the caller); raise a `DeliveryError` subclass instead of failing silently."""
