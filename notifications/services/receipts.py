"""Expo's push receipts: a token Expo answers `DeviceNotRegistered` for (the app was uninstalled, the token
expired) is deactivated, so stale tokens are not pushed to for ever.

Sending answers a ticket per token (kept in the delivery's `provider_receipts`); whether Apple or Google took the
push is known only later, from `getReceipts`. Expo has a ticket's receipt ready within about a quarter of an hour
and keeps it for a day, so `push_receipts_check` (beat, every 15 minutes) reads the receipts of pushes sent
RECEIPT_DELAY to RECEIPT_LIFETIME ago, once: a delivery is marked `receipts_checked_at` when every ticket has its
receipt, or when Expo can no longer have them. Idempotent: deactivating a token twice changes nothing, and the
mark is a conditional update.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from notifications import expo
from notifications.channels.push import DEVICE_NOT_REGISTERED
from notifications.choices import Channel, DeliveryStatus
from notifications.models import NotificationDelivery, PushToken

logger = logging.getLogger("jeghealth.notifications")

RECEIPT_DELAY = timedelta(minutes=15)
RECEIPT_LIFETIME = timedelta(hours=24)
RECEIPTS_BATCH = 500
MAX_BATCHES = 20
# Unchecked pushes older than Expo keeps receipts (a backlog from before receipts were read) closed per run.
EXPIRED_BATCH = 10_000


def push_receipts_check(*, batch: int = RECEIPTS_BATCH, max_batches: int = MAX_BATCHES) -> int:
    """Read the receipts of sent pushes not checked yet, BATCH deliveries at a time (at most MAX_BATCHES per run);
    answer how many tokens were deactivated.

    Runs outside any transaction (Expo is called with no row locked). A transient or permanent Expo error stops
    the run: the deliveries stay unchecked and the next run asks again.
    """
    now = timezone.now()
    unchecked = NotificationDelivery.objects.filter(
        channel=Channel.PUSH, status=DeliveryStatus.SENT, receipts_checked_at__isnull=True
    )
    expired = list(unchecked.filter(sent_at__lt=now - RECEIPT_LIFETIME).values_list("id", flat=True)[:EXPIRED_BATCH])
    if expired:
        NotificationDelivery.objects.filter(id__in=expired, receipts_checked_at__isnull=True).update(
            receipts_checked_at=now, updated_at=now
        )
    due = unchecked.filter(sent_at__gte=now - RECEIPT_LIFETIME, sent_at__lte=now - RECEIPT_DELAY)
    deactivated = 0
    after = None
    for _ in range(max_batches):
        page = due if after is None else due.filter(Q(sent_at__gt=after[0]) | Q(sent_at=after[0], id__gt=after[1]))
        # A keyset cursor: deliveries whose receipts are not ready yet stay unchecked and are not read again.
        rows = list(page.order_by("sent_at", "id").values_list("id", "sent_at", "provider_receipts")[:batch])
        if not rows:
            break
        outcome = _check(rows, now=now)
        if outcome is None:
            break
        deactivated += outcome
        if len(rows) < batch:
            break
        after = (rows[-1][1], rows[-1][0])
    return deactivated


def _check(rows: list[tuple], *, now) -> int | None:
    """Ask Expo for the receipts of ROWS' tickets and record them; tokens deactivated, or None if Expo failed."""
    # ticket id → push token id, for the tickets whose receipt is still unknown.
    tickets: dict[str, str] = {}
    for _delivery_id, _sent_at, receipts in rows:
        for token_id, outcome in (receipts or {}).items():
            unknown = isinstance(outcome, dict) and outcome.get("status") == "ok" and "receipt" not in outcome
            if unknown and outcome.get("id"):
                tickets[str(outcome["id"])] = token_id
    answers: dict[str, expo.PushTicket] = {}
    ids = list(tickets)
    for start in range(0, len(ids), expo.MAX_RECEIPTS_PER_REQUEST):
        try:
            answers.update(expo.get_receipts(ids[start : start + expo.MAX_RECEIPTS_PER_REQUEST]))
        except expo.ExpoError as exc:
            logger.warning("push_receipts_unavailable", extra={"error": str(exc), "tickets": len(ids)})
            return None

    unregistered = [
        tickets[ticket_id]
        for ticket_id, receipt in answers.items()
        if not receipt.ok and receipt.error == DEVICE_NOT_REGISTERED
    ]
    deactivated = 0
    if unregistered:
        deactivated = PushToken.objects.filter(id__in=unregistered, is_active=True).update(
            is_active=False, updated_at=now
        )
    checked = 0
    for delivery_id, _sent_at, stored in rows:
        receipts = {key: dict(value) if isinstance(value, dict) else value for key, value in (stored or {}).items()}
        waiting = False
        for outcome in receipts.values():
            if not isinstance(outcome, dict) or outcome.get("status") != "ok" or "receipt" in outcome:
                continue
            receipt = answers.get(str(outcome.get("id")))
            if receipt is None:
                waiting = True
            else:
                outcome["receipt"] = "ok" if receipt.ok else receipt.error
        fields = {"provider_receipts": receipts, "updated_at": now}
        if not waiting:
            fields["receipts_checked_at"] = now
        checked += NotificationDelivery.objects.filter(pk=delivery_id, receipts_checked_at__isnull=True).update(
            **fields
        )
    logger.info(
        "push_receipts_checked",
        extra={"deliveries": checked, "receipts": len(answers), "tokens_deactivated": deactivated},
    )
    return deactivated
