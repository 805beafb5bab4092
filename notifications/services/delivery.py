"""The delivery engine: `notify`, the one entry point every app uses, and the sending of its deliveries.

`notify` stores the notification and one delivery row per channel (and per emergency contact it names) in the
caller's transaction, and enqueues the due ones after commit (`robust`, so a broker outage never fails the
caller). A worker claims a row with a conditional update before sending and records the outcome after; a retried
or duplicated task finds nothing to claim. The periodic dispatcher (`deliveries_dispatch_due`, every minute) sends
what quiet hours held back once they end, and re-enqueues pending rows whose message was lost: nothing waits in
Redis for hours. No provider is called in the caller's request or transaction: a slow or unreachable provider
holds up only the worker sending its own delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from jeghealth_backend.person_cache import person_data_changed
from notifications import selectors
from notifications.channels import PERSON_CHANNELS, get_channel
from notifications.channels.base import BaseChannel, DeliverySkipped, PermanentDeliveryError, TransientDeliveryError
from notifications.choices import Category, Channel, DeliveryStatus, Severity
from notifications.contact_message import ContactMessage
from notifications.models import EmergencyContact, Notification, NotificationDelivery

logger = logging.getLogger("jeghealth.notifications")

# A claimed delivery belongs to its worker for this long; longer than CELERY_TASK_TIME_LIMIT, so a send still
# running is never taken over, while one whose worker died is picked up again by the dispatcher.
LEASE = timedelta(minutes=10)
# The dispatcher re-enqueues a pending delivery only when nobody enqueued it for this long: the task's own
# retries (backoff 2 s … 64 s) finish well within it.
STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 10
DISPATCH_BATCH = 500
# Quotas of messages to emergency contacts (checklist A14) count e-mails and SMS together over this window.
CONTACT_QUOTA_WINDOW = timedelta(days=1)


@transaction.atomic
def notify(
    *,
    user,
    category: str,
    title: str,
    body: str,
    data: dict | None = None,
    severity: str = Severity.INFO,
    dedupe_key: str | None = None,
    contacts: Sequence[EmergencyContact] = (),
    contact_message: ContactMessage | None = None,
) -> Notification:
    """Record a notification for USER and deliver it over every channel their preferences enable.

    Channels turned off get a `skipped` delivery. Non-critical pushes and e-mails wait for the end of the
    person's quiet hours; critical ones and in-app go at once. With DEDUPE_KEY, a notification already stored
    under that key for USER is answered instead and nothing else happens (reminders, alert episodes,
    escalations: a repeated call sends nothing, to the person or their contacts).

    With CONTACTS (USER's emergency contacts), the notification also gets one delivery per contact, saying
    CONTACT_MESSAGE: by e-mail when the contact has an address, else by SMS to its phone number, at once (quiet
    hours are the person's, not the contact's). Within the quotas of messages to contacts in any 24 hours,
    e-mails and SMS counted together: NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY per person and
    NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY per contact; over quota, or for a contact that no longer
    asks to be told (`notify_on_critical` off), the delivery is stored `skipped` with the reason. The database
    holds one delivery per (notification, contact).

    Sending happens after the caller's transaction commits; if it rolls back, nothing is sent.
    Raises ValueError for an unknown category or severity, for CONTACTS without a CONTACT_MESSAGE, and for a
    contact of someone else (programming errors in the caller).
    """
    if category not in Category.values:
        raise ValueError(f"Unknown notification category {category!r}.")
    if severity not in Severity.values:
        raise ValueError(f"Unknown notification severity {severity!r}.")
    contacts = list(contacts)
    if contacts and contact_message is None:
        raise ValueError("Messages to emergency contacts need a contact_message.")
    if any(contact.user_id != user.pk for contact in contacts):
        raise ValueError("Every contact must be an emergency contact of the notified person.")
    flags = selectors.channel_flags(user=user, category=category)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=user,
                category=category,
                severity=severity,
                title=_clip(title, 200),
                body=_clip(body, 2000),
                data=data or {},
                dedupe_key=dedupe_key or "",
                in_app=flags[Channel.IN_APP],
                contact_message=contact_message.as_stored() if contacts and contact_message else {},
            )
    except IntegrityError:
        if not dedupe_key:
            raise
        # The unique (recipient, dedupe_key) key decides, not a prior read: two racing calls store one row.
        return Notification.objects.get(recipient=user, dedupe_key=dedupe_key)

    now = notification.created_at
    hold = None if severity == Severity.CRITICAL else selectors.quiet_hours_end(user=user, now=now)
    rows = [
        _new_delivery(notification, channel, enabled=flags[name], hold=hold, now=now)
        for name, channel in PERSON_CHANNELS.items()
    ]
    if contacts:
        rows += _contact_deliveries(user=user, notification=notification, contacts=contacts, now=now)
    NotificationDelivery.objects.bulk_create(rows)
    person_data_changed(user.pk)
    enqueue_on_commit([row.id for row in rows if row.status == DeliveryStatus.PENDING and row.not_before is None])
    logger.info(
        "notification_created",
        extra={
            "notification_id": str(notification.id),
            "user_id": str(user.pk),
            "category": category,
            "contact_deliveries": len(rows) - len(PERSON_CHANNELS),
        },
    )
    return notification


def _contact_deliveries(
    *, user, notification: Notification, contacts: list[EmergencyContact], now
) -> list[NotificationDelivery]:
    """One unsaved delivery per distinct contact: e-mail or SMS, pending within the quotas, skipped beyond."""
    # Locking every contact of the person (in id order, so concurrent callers never deadlock) serialises the
    # notifications that message them: each one counts the deliveries of those before it.
    current = {c.pk: c for c in EmergencyContact.objects.select_for_update().filter(user_id=user.pk).order_by("pk")}
    counted = NotificationDelivery.objects.filter(
        contact__user_id=user.pk, created_at__gte=now - CONTACT_QUOTA_WINDOW
    ).exclude(status=DeliveryStatus.SKIPPED)
    per_person = counted.count()
    per_contact = dict(counted.values("contact").annotate(n=Count("id")).values_list("contact", "n"))
    rows: list[NotificationDelivery] = []
    seen: set = set()
    for given in contacts:
        contact = current.get(given.pk)
        if contact is None or contact.pk in seen:  # deleted meanwhile, or named twice
            continue
        seen.add(contact.pk)
        channel = Channel.EMAIL if contact.email else Channel.SMS
        row = NotificationDelivery(notification=notification, channel=channel, contact=contact, created_at=now)
        if not contact.notify_on_critical:
            row.status, row.last_error = DeliveryStatus.SKIPPED, "the contact no longer asks to be told"
        elif per_person >= settings.NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY:
            row.status, row.last_error = DeliveryStatus.SKIPPED, "daily quota of messages to emergency contacts"
        elif per_contact.get(contact.pk, 0) >= settings.NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY:
            row.status, row.last_error = DeliveryStatus.SKIPPED, "daily quota of messages to this contact"
        else:
            row.enqueued_at = now
            per_person += 1
            per_contact[contact.pk] = per_contact.get(contact.pk, 0) + 1
        rows.append(row)
    return rows


def _new_delivery(
    notification: Notification, channel: BaseChannel, *, enabled: bool, hold, now
) -> NotificationDelivery:
    row = NotificationDelivery(notification=notification, channel=channel.name, created_at=now)
    if not enabled:
        row.status = DeliveryStatus.SKIPPED
        row.last_error = "turned off in the person's preferences"
    elif channel.delivered_on_creation:
        row.status = DeliveryStatus.SENT
        row.sent_at = now
    elif hold is not None and channel.respects_quiet_hours:
        row.not_before = hold
    else:
        row.enqueued_at = now
    return row


def enqueue_on_commit(delivery_ids: Iterable) -> None:
    for delivery_id in delivery_ids:
        # robust: a broker outage is logged, not raised into the caller; the dispatcher finds the row later.
        transaction.on_commit(_enqueuer(str(delivery_id)), robust=True)


def _enqueuer(delivery_id: str):
    from notifications.tasks import deliver

    def enqueue_delivery() -> None:
        deliver.delay(delivery_id)

    return enqueue_delivery


def _claimable(now) -> Q:
    due = Q(status=DeliveryStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    abandoned = Q(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)
    return due | abandoned


def delivery_send(*, delivery_id) -> NotificationDelivery | None:
    """Send one delivery if it is due and unclaimed, and record the outcome. Idempotent.

    The conditional update `pending → sending` (with a lease) is the claim: of two tasks for the same row only
    one sends; a row already sent, failed, skipped or not yet due is a no-op (None). Runs outside any
    transaction, so the provider call holds no lock. Raises TransientDeliveryError after putting the row back
    to pending, for the task to retry with backoff; after MAX_ATTEMPTS the row is failed instead.
    """
    now = timezone.now()
    claimed = NotificationDelivery.objects.filter(_claimable(now), pk=delivery_id).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, lease_expires_at=now + LEASE, updated_at=now
    )
    if not claimed:
        logger.info("delivery_not_claimed", extra={"delivery_id": str(delivery_id)})
        return None
    delivery = selectors.delivery_for_sending(delivery_id=delivery_id)
    if delivery is None:  # deleted with its person between the claim and now
        return None
    if delivery.attempts > MAX_ATTEMPTS:
        # Only reached when earlier attempts died without recording anything (a crash, a bug).
        return _finish(delivery, DeliveryStatus.FAILED, error=f"gave up after {MAX_ATTEMPTS} attempts")
    if not delivery.notification.recipient.is_active:
        return _finish(delivery, DeliveryStatus.SKIPPED, error="the account is deactivated")
    try:
        result = get_channel(delivery.channel).send(delivery)
    except DeliverySkipped as exc:
        return _finish(delivery, DeliveryStatus.SKIPPED, error=str(exc), receipts=exc.receipts)
    except PermanentDeliveryError as exc:
        return _finish(delivery, DeliveryStatus.FAILED, error=str(exc), receipts=exc.receipts)
    except TransientDeliveryError as exc:
        if delivery.attempts >= MAX_ATTEMPTS:
            error = f"gave up after {delivery.attempts} attempts: {exc}"
            return _finish(delivery, DeliveryStatus.FAILED, error=error, receipts=exc.receipts)
        _release(delivery, error=str(exc), receipts=exc.receipts)
        raise
    return _finish(delivery, DeliveryStatus.SENT, provider_id=result.provider_id, receipts=result.receipts)


def _finish(
    delivery: NotificationDelivery, status: str, *, error: str = "", provider_id: str = "", receipts=None
) -> NotificationDelivery:
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "lease_expires_at": None, "last_error": error[:500], "updated_at": now}
    if status == DeliveryStatus.SENT:
        fields.update(sent_at=now, provider_id=provider_id[:255])
    if receipts is not None:
        fields["provider_receipts"] = receipts
    NotificationDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**fields)
    log = logger.warning if status == DeliveryStatus.FAILED else logger.info
    log(
        "delivery_finished",
        extra={"delivery_id": str(delivery.pk), "channel": delivery.channel, "status": status, "error": error[:200]},
    )
    delivery.refresh_from_db()
    return delivery


def _release(delivery: NotificationDelivery, *, error: str, receipts) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": DeliveryStatus.PENDING,
        "lease_expires_at": None,
        "last_error": error[:500],
        # The task's own retry follows; the dispatcher leaves the row alone meanwhile.
        "enqueued_at": now,
        "updated_at": now,
    }
    if receipts is not None:
        fields["provider_receipts"] = receipts
    NotificationDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**fields)
    logger.warning(
        "delivery_retry",
        extra={"delivery_id": str(delivery.pk), "channel": delivery.channel, "attempts": delivery.attempts},
    )


def deliveries_dispatch_due(*, limit: int = DISPATCH_BATCH) -> int:
    """Enqueue the deliveries that are due and not in flight; answer how many. Run every minute by beat.

    Due: pending with quiet hours over (or none), not enqueued in the last STALE_AFTER (a lost message, a broker
    that was down at notify time); or sending with an expired lease (a worker that died mid-send).
    """
    now = timezone.now()
    due = (Q(status=DeliveryStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))) | Q(
        status=DeliveryStatus.SENDING, lease_expires_at__lt=now
    )
    quiet_for_a_while = Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - STALE_AFTER)
    with transaction.atomic():
        # skip_locked: two dispatchers at once split the rows instead of both enqueueing them.
        ids = list(
            NotificationDelivery.objects.select_for_update(skip_locked=True)
            .filter(due, quiet_for_a_while)
            .order_by("created_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            NotificationDelivery.objects.filter(id__in=ids).update(enqueued_at=now, updated_at=now)
            enqueue_on_commit(ids)
    if ids:
        logger.info("deliveries_dispatched", extra={"count": len(ids)})
    return len(ids)


@transaction.atomic
def deliveries_requeue(*, delivery_ids: Iterable) -> int:
    """Give failed deliveries a fresh set of attempts (admin action after fixing e-mail or Expo settings)."""
    now = timezone.now()
    ids = list(
        NotificationDelivery.objects.filter(pk__in=list(delivery_ids), status=DeliveryStatus.FAILED).values_list(
            "id", flat=True
        )
    )
    NotificationDelivery.objects.filter(id__in=ids).update(
        status=DeliveryStatus.PENDING, attempts=0, not_before=None, enqueued_at=now, updated_at=now
    )
    enqueue_on_commit(ids)
    return len(ids)


def _clip(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
