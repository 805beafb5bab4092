"""Reads of notifications, every one scoped to the acting person (another person's rows are simply absent)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from .choices import Category, Channel
from .models import (
    EmergencyContact,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    PushToken,
    QuietHours,
)
from .quiet_hours import quiet_until

DEFAULT_FLAGS = {Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: True}


def notification_list(*, user) -> QuerySet[Notification]:
    """The inbox: notifications of USER whose in-app channel was on, newest first."""
    return Notification.objects.filter(recipient=user, in_app=True).order_by("-created_at", "-id")


def notification_unread_count(*, user) -> int:
    return notification_list(user=user).filter(is_read=False).count()


def preferences_get(*, user) -> dict:
    """Every category with its channel flags (defaults where nothing is stored) and the quiet hours."""
    stored = {p.category: p for p in NotificationPreference.objects.filter(user=user)}
    categories = {}
    for category in Category.values:
        pref = stored.get(category)
        categories[category] = (
            {"in_app": pref.in_app, "email": pref.email, "push": pref.push} if pref else dict(DEFAULT_FLAGS)
        )
    quiet = QuietHours.objects.filter(user=user).first()
    return {
        "categories": categories,
        "quiet_hours_start": quiet.start if quiet else None,
        "quiet_hours_end": quiet.end if quiet else None,
    }


def channel_flags(*, user, category: str) -> dict[str, bool]:
    pref = NotificationPreference.objects.filter(user=user, category=category).first()
    if pref is None:
        return dict(DEFAULT_FLAGS)
    return {Channel.IN_APP: pref.in_app, Channel.EMAIL: pref.email, Channel.PUSH: pref.push}


def quiet_hours_end(*, user, now: datetime) -> datetime | None:
    """When the quiet hours USER is in at NOW end (UTC), or None when NOW is not in quiet hours."""
    quiet = QuietHours.objects.filter(user=user).first()
    if quiet is None:
        return None
    tz = user.profile.tzinfo if hasattr(user, "profile") else ZoneInfo("UTC")
    return quiet_until(now=now, start=quiet.start, end=quiet.end, tz=tz)


def delivery_for_sending(*, delivery_id) -> NotificationDelivery | None:
    return (
        NotificationDelivery.objects.select_related("notification__recipient__profile", "contact")
        .filter(pk=delivery_id)
        .first()
    )


def push_token_list(*, user) -> QuerySet[PushToken]:
    return PushToken.objects.filter(user=user).order_by("-created_at")


def emergency_contact_list(*, user) -> QuerySet[EmergencyContact]:
    return EmergencyContact.objects.filter(user=user).order_by("created_at", "id")


def emergency_contacts_to_alert(*, user) -> list[EmergencyContact]:
    """USER's contacts to tell of an escalated critical alert: `notify_on_critical`, with an e-mail or a phone.

    In the order the person added them. Pass them to `notify(contacts=…)`, which picks e-mail or SMS for each.
    """
    # The addresses are encrypted (no SQL lookups on them) and a person has at most 10 contacts: filter here.
    contacts = emergency_contact_list(user=user).filter(notify_on_critical=True)
    return [contact for contact in contacts if contact.email or contact.phone_number]
