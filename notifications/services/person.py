"""What a person manages themselves: the read state of their inbox, their preferences and push tokens, their
emergency contacts. Each function owns its transaction.
"""

from __future__ import annotations

from datetime import time

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from jeghealth_backend.person_cache import person_data_changed
from notifications import selectors
from notifications.choices import Category, Severity
from notifications.exceptions import InvalidInput, NotFound, PushTokenTaken
from notifications.models import (
    EmergencyContact,
    Notification,
    NotificationPreference,
    PushToken,
    QuietHours,
)
from notifications.services.delivery import notify

MAX_ACTIVE_PUSH_TOKENS = 10
MAX_EMERGENCY_CONTACTS = 10


@transaction.atomic
def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark one notification read (already read stays as it was)."""
    now = timezone.now()
    if Notification.objects.filter(pk=notification.pk, is_read=False).update(is_read=True, read_at=now):
        person_data_changed(notification.recipient_id)
    notification.refresh_from_db()
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of USER's inbox read; answer how many changed."""
    changed = selectors.notification_list(user=user).filter(is_read=False).update(is_read=True, read_at=timezone.now())
    if changed:
        person_data_changed(user.pk)
    return changed


# --- preferences and push tokens --------------------------------------------------------------------------


@transaction.atomic
def preferences_update(
    *, user, categories: dict[str, dict[str, bool]], quiet_hours: tuple[time | None, time | None] | None = None
) -> None:
    """Set the channel flags given per category (others keep theirs) and, when given, the quiet hours."""
    now = timezone.now()
    current = {p.category: p for p in NotificationPreference.objects.filter(user=user, category__in=categories)}
    rows = []
    for category, flags in categories.items():
        pref = current.get(category) or NotificationPreference(user=user, category=category)
        for channel, enabled in flags.items():
            setattr(pref, channel, enabled)
        pref.updated_at = now
        rows.append(pref)
    if rows:
        NotificationPreference.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user", "category"],
            update_fields=["in_app", "email", "push", "updated_at"],
        )
    if quiet_hours is not None:
        start, end = quiet_hours
        QuietHours.objects.update_or_create(user=user, defaults={"start": start, "end": end})


@transaction.atomic
def push_token_register(*, user, token: str, platform: str, installation_id: str = "") -> tuple[PushToken, bool]:
    """Register or refresh an Expo push token for USER; answer it and whether it is new. Idempotent per token.

    A token of USER's is refreshed (active again, its platform and installation updated). A token registered to
    someone else is never moved silently (anyone who learns a token could otherwise take another person's
    pushes, critical alerts included): it moves to USER only when INSTALLATION_ID is given and is the one stored
    with the token, i.e. the same app installation now signed in as USER, and its former owner is told in-app
    (and by their other channels) that this phone no longer receives their notifications. Otherwise PushTokenTaken
    (409) and nothing changes.

    Dropping the other person's row and telling them was the other way offered, and is not taken: it still lets
    anyone cut a person off from their pushes, and the message would reach them only once they open the app.

    Beyond MAX_ACTIVE_PUSH_TOKENS the least recently used ones of USER are deactivated.
    """
    now = timezone.now()
    fields = {"user": user, "platform": platform, "is_active": True, "last_used_at": now, "updated_at": now}
    # The row lock makes two registrations of one token (two accounts racing for it) take turns.
    existing = PushToken.objects.select_for_update().filter(token=token).first()
    created = False
    if existing is None:
        try:
            with transaction.atomic():
                PushToken.objects.create(token=token, installation_id=installation_id, **fields)
            created = True
        except IntegrityError:
            # A concurrent registration of the same token won the insert; ours is checked against it.
            existing = PushToken.objects.select_for_update().get(token=token)
    if existing is not None:
        previous_owner = None
        if existing.user_id != user.pk:
            if not installation_id or existing.installation_id != installation_id:
                raise PushTokenTaken()
            previous_owner = existing.user
        PushToken.objects.filter(pk=existing.pk).update(
            installation_id=installation_id or existing.installation_id, **fields
        )
        if previous_owner is not None:
            _tell_push_token_moved(owner=previous_owner, token=existing)
    surplus = list(
        PushToken.objects.filter(user=user, is_active=True)
        .order_by("-last_used_at", "-created_at")
        .values_list("id", flat=True)[MAX_ACTIVE_PUSH_TOKENS:]
    )
    if surplus:
        PushToken.objects.filter(id__in=surplus).update(is_active=False, updated_at=now)
    return PushToken.objects.get(token=token), created


def _tell_push_token_moved(*, owner, token: PushToken) -> None:
    notify(
        user=owner,
        category=Category.SYSTEM,
        severity=Severity.WARNING,
        title="A phone no longer receives your notifications",
        body=(
            f"Your {token.get_platform_display()} device was signed in to another account, so its notifications "
            "now go to that account. If that was not you, sign in on it again and change your password."
        ),
        data={"kind": "push_token_moved", "push_token_id": str(token.pk)},
    )


@transaction.atomic
def push_token_remove(*, user, token: str) -> None:
    """Forget one of USER's push tokens (sign-out on that phone). Raises NotFound if USER has no such token."""
    deleted, _ = PushToken.objects.filter(user=user, token=token).delete()
    if not deleted:
        raise NotFound("No such push token.")


# --- emergency contacts -----------------------------------------------------------------------------------


@transaction.atomic
def emergency_contact_create(*, user, data: dict) -> EmergencyContact:
    """Add an emergency contact; at most MAX_EMERGENCY_CONTACTS per person (InvalidInput beyond)."""
    # The person's row lock serialises concurrent adds, so the cap cannot be raced past.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if EmergencyContact.objects.filter(user=user).count() >= MAX_EMERGENCY_CONTACTS:
        raise InvalidInput("non_field_errors", f"At most {MAX_EMERGENCY_CONTACTS} emergency contacts.")
    return EmergencyContact.objects.create(user=user, **data)


@transaction.atomic
def emergency_contact_update(*, contact: EmergencyContact, data: dict) -> EmergencyContact:
    for field, value in data.items():
        setattr(contact, field, value)
    contact.save()
    return contact


@transaction.atomic
def emergency_contact_delete(*, contact: EmergencyContact) -> None:
    contact.delete()
