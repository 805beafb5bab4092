"""Dose reminders: every minute, the doses that are due are reminded once each (notices.dose_due_notify)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..doses import tz_of
from ..models import DoseLog, Regimen
from ..notices import dose_due_notify
from ..schedule import doses_between, next_dose_after


def dose_reminders_send(*, now: datetime | None = None) -> int:
    """Remind people of the doses due now; answer how many reminders went to `notify`. Run every minute.

    Finds its work by `next_reminder_at <= now` (indexed). Each dose due since then, and not more than the
    lookback window ago, is reminded through `notify` with dedupe key (regimen, scheduled_for): a second run,
    or two workers at once, store one notification. A dose already logged is not reminded. The cursor then moves
    to the regimen's next dose.
    """
    now = now or timezone.now()
    lookback = timedelta(minutes=settings.MEDICATION_REMINDER_LOOKBACK_MINUTES)
    due = Regimen.objects.filter(is_active=True, next_reminder_at__lte=now).select_related("user__profile")
    sent = 0
    for regimen in due.iterator(chunk_size=500):
        with transaction.atomic():
            sent += _remind_regimen(regimen, now=now, since=max(regimen.next_reminder_at, now - lookback))
    return sent


def _remind_regimen(regimen: Regimen, *, now: datetime, since: datetime) -> int:
    tz = tz_of(regimen.user)
    instants = list(doses_between(regimen, tz, since, now + timedelta(microseconds=1)))
    logged = set(
        DoseLog.objects.filter(regimen=regimen, scheduled_for__in=instants).values_list("scheduled_for", flat=True)
    )
    sent = 0
    for instant in instants:
        if instant in logged:
            continue
        dose_due_notify(regimen=regimen, instant=instant, local=instant.astimezone(tz))
        sent += 1
    Regimen.objects.filter(pk=regimen.pk, next_reminder_at=regimen.next_reminder_at).update(
        next_reminder_at=next_dose_after(regimen, tz, now)
    )
    return sent
