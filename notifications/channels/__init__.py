"""Delivery channels: one base class (base.py) and one module per channel. `CHANNELS` is the registry."""

from __future__ import annotations

from types import MappingProxyType

from .base import BaseChannel
from .email import EmailChannel
from .in_app import InAppChannel
from .push import PushChannel
from .sms import SmsChannel

CHANNELS: MappingProxyType[str, BaseChannel] = MappingProxyType(
    {channel.name: channel for channel in (InAppChannel(), EmailChannel(), PushChannel(), SmsChannel())}
)
# The recipient's own channels, in the order their deliveries are created (and enqueued).
PERSON_CHANNELS: MappingProxyType[str, BaseChannel] = MappingProxyType(
    {name: channel for name, channel in CHANNELS.items() if channel.reaches_recipient}
)


def get_channel(name: str) -> BaseChannel:
    return CHANNELS[name]
