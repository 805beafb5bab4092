"""In-app: the stored notification is what the app lists, so there is nothing left to send."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifications.choices import Channel

from .base import BaseChannel, SendResult

if TYPE_CHECKING:
    from notifications.models import NotificationDelivery


class InAppChannel(BaseChannel):
    name = Channel.IN_APP
    delivered_on_creation = True
    respects_quiet_hours = False

    def send(self, delivery: NotificationDelivery) -> SendResult:
        return SendResult()
