"""Notifications and their deliveries, and what a person wants delivered (and to whom: emergency contacts).

A `Notification` is what the person sees in the app; each channel that could carry it gets one
`NotificationDelivery` row, the idempotency key of its sending (a delivery is claimed with a conditional update
before anything leaves, so a retried task never sends twice). Messages to emergency contacts (an e-mail, or an SMS
for a contact with a phone number and no address) are deliveries of the person's notification with `contact` set;
their words are the notification's `contact_message`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.utils import timezone

from jeghealth_backend.encryption import EncryptedTextField

from .choices import (
    CONTACT_CHANNELS,
    PERSON_CHANNELS,
    Category,
    Channel,
    DeliveryStatus,
    Platform,
    Severity,
)


def _is_empty(field: str) -> Q:
    """`field = ''` in SQL, for an encrypted column too.

    EncryptedTextField refuses lookups (its ciphertext is randomised), but it stores an empty string as itself,
    so "the column is empty" is exactly "the plaintext is empty": an explicit `Exact` states that, and nothing
    else, without opening the field to other lookups.
    """
    return Q(Exact(F(field), ""))


class Notification(models.Model):
    """One message to one person: the in-app inbox entry and the source of every channel's delivery.

    `dedupe_key`, when not empty, is unique per recipient: a repeated `notify()` with the same key is a no-op.
    `in_app` is false when the person turned the in-app channel off for the category; the row is still kept
    because its other deliveries hang off it, but the inbox does not show it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    category = models.CharField(max_length=32, choices=Category.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=2000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    in_app = models.BooleanField(default=True)
    # What emergency contacts read (`ContactMessage`: subject, text, sms), when the notification has contact
    # deliveries; written by the app that owns the facts. Never shown by the API (it is the person's message).
    contact_message = models.JSONField(default=dict, blank=True)
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notif_recipient_dedupe_key_unique",
            ),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="notif_category_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="notif_severity_valid"),
        ]
        indexes = [
            models.Index(fields=["recipient", "in_app", "-created_at"], name="notif_inbox_idx"),
            models.Index(fields=["recipient", "in_app", "is_read"], name="notif_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.category}/{self.severity} to {self.recipient_id} ({self.id})"


class EmergencyContact(models.Model):
    """Someone a person wants told about their escalated critical alerts, when `notify_on_critical`.

    Told by e-mail when the contact has an address, otherwise by SMS. `name`, `phone_number` and `email` are
    encrypted at rest (checklist B4); an empty value is stored as an empty string, so the constraints below still
    say what they mean. Lengths (120, 32, 254) and formats are checked by the input serializer.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = EncryptedTextField()
    relationship = models.CharField(max_length=60, blank=True)
    phone_number = EncryptedTextField(blank=True, default="")
    email = EncryptedTextField(blank=True, default="")
    notify_on_critical = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Every contact can be reached, so `notify_on_critical` (e-mail, or SMS) needs nothing more.
            models.CheckConstraint(
                condition=~_is_empty("phone_number") | ~_is_empty("email"), name="notif_contact_phone_or_email"
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="notif_contact_user_idx")]

    def __str__(self) -> str:
        return f"Emergency contact {self.id} of {self.user_id}"


class NotificationDelivery(models.Model):
    """The sending of one notification over one channel: `pending → sending → sent | failed`, or `skipped`.

    Invariants: one row per (notification, channel) for the recipient's own channels (in-app, e-mail, push), one
    per (notification, contact) for a message to an emergency contact (e-mail or SMS). A worker claims a row
    (`pending`, or `sending` with an expired lease) with a conditional update before sending, so two workers
    never send the same row. `not_before` holds a delivery back until quiet hours end; the periodic dispatcher
    finds it then. A sent push's Expo receipts are polled once (`receipts_checked_at`).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    contact = models.ForeignKey(
        EmergencyContact, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    # Push only: the outcome per push token, so that a retry after a partial failure sends to the rest only, and
    # the Expo ticket ids whose receipts are polled later.
    provider_receipts = models.JSONField(default=dict, blank=True)
    receipts_checked_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"],
                condition=Q(contact__isnull=True),
                name="notif_delivery_channel_unique",
            ),
            models.UniqueConstraint(
                fields=["notification", "contact"],
                condition=Q(contact__isnull=False),
                name="notif_delivery_contact_unique",
            ),
            models.CheckConstraint(
                condition=Q(contact__isnull=True, channel__in=PERSON_CHANNELS)
                | Q(contact__isnull=False, channel__in=CONTACT_CHANNELS),
                name="notif_delivery_channel_fits_recipient",
            ),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="notif_delivery_status_valid"),
        ]
        indexes = [
            # The dispatcher's scan: only unfinished rows are indexed.
            models.Index(
                fields=["status", "not_before", "enqueued_at"],
                condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                name="notif_delivery_due_idx",
            ),
            models.Index(fields=["contact", "created_at"], name="notif_delivery_contact_idx"),
            # The receipts poller's scan: sent pushes whose receipts nobody has read yet.
            models.Index(
                fields=["sent_at"],
                condition=Q(channel=Channel.PUSH, status=DeliveryStatus.SENT, receipts_checked_at__isnull=True),
                name="notif_delivery_receipts_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery {self.id}: {self.status}"


class NotificationPreference(models.Model):
    """Which channels a person wants for one category. A missing row means every channel is on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=32, choices=Category.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)
    push = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="notif_preference_user_category_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category} preference of {self.user_id}"


class QuietHours(models.Model):
    """A daily window, in the person's profile timezone, when non-critical pushes and e-mails wait.

    `start > end` spans midnight (22:00–07:00). Both null means no quiet hours; they are never equal.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quiet hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True, end__isnull=True)
                | (Q(start__isnull=False, end__isnull=False) & ~Q(start=F("end"))),
                name="notif_quiet_hours_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"Quiet hours of {self.user_id}"


class PushToken(models.Model):
    """An Expo push token of one of the person's devices: one row per token, owned by one person.

    A token moves to another account only when that registration names the same `installation_id` as the one
    stored (services.push_token_register): the same app installation, now signed in as someone else.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_tokens")
    token = models.CharField(max_length=255, unique=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    # The app installation that registered the token (a random id the app keeps); empty for older registrations.
    installation_id = models.CharField(max_length=100, blank=True, default="")
    is_active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "is_active"], name="notif_push_token_user_idx")]

    def __str__(self) -> str:
        # Never the token itself: it is a credential for pushing to that phone.
        return f"Push token {self.id} ({self.platform}) of {self.user_id}"
