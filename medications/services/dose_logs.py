"""Writes of doses: a person's log of a dose, what it does to the quantity left and the refill reminder, and the
periodic recording of missed doses.

Quantity changes are single UPDATEs with F expressions, so concurrent logs never lose a decrement. The refill
reminder goes through `notices.refill_notify` inside the same transaction (it sends after commit).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from alerts.facts import MissedDose
from alerts.services import dose_taken, doses_missed
from jeghealth_backend.person_cache import person_data_changed

from ..choices import DoseStatus, Frequency, LoggedStatus
from ..doses import grace_window, tz_of
from ..exceptions import DoseInvalid, field_error
from ..models import DoseLog, Regimen
from ..notices import refill_notify
from ..schedule import doses_between, is_scheduled_instant

logger = logging.getLogger("jeghealth.medications")

# A logged dose may be up to a day ahead (taking the evening dose early); an intake time a little ahead of the
# server clock is a phone's clock skew, not a dose in the future.
LOG_AHEAD = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)
# Ended regimens keep being scanned for missed doses this long after they end, in case the task was down.
MISSED_SCAN_TAIL = timedelta(days=7)


def _validate_log(regimen: Regimen, *, scheduled_for: datetime, status: str, taken_at, now: datetime) -> None:
    if status not in LoggedStatus.values:
        raise field_error(DoseInvalid, "status", "Log a dose as taken or skipped.")
    if taken_at is not None and status != LoggedStatus.TAKEN:
        raise field_error(DoseInvalid, "taken_at", "Only a taken dose has a time it was taken.")
    if taken_at is not None and taken_at > now + CLOCK_SKEW:
        raise field_error(DoseInvalid, "taken_at", "A dose cannot be taken in the future.")
    if regimen.is_as_needed:
        if status != LoggedStatus.TAKEN:
            raise field_error(DoseInvalid, "status", "An as-needed medication is logged when taken.")
        if scheduled_for > now + CLOCK_SKEW:
            raise field_error(DoseInvalid, "scheduled_for", "An as-needed dose is logged once it has been taken.")
        return
    if scheduled_for > now + LOG_AHEAD:
        raise field_error(DoseInvalid, "scheduled_for", "A dose can be logged at most a day ahead.")


@transaction.atomic
def dose_log(
    *, regimen: Regimen, scheduled_for: datetime, status: str, taken_at: datetime | None = None, now=None
) -> tuple[DoseLog, bool]:
    """Record what became of one dose; (log, created). Logging the same dose again updates its row.

    SCHEDULED_FOR must be one of the regimen's dose times (any time for an as-needed one), or a dose already on
    record (a missed dose logged late). Taken without TAKEN_AT, a past dose was taken at its scheduled time, one
    ahead of it now. A dose becoming taken lowers `quantity_remaining` by `quantity_per_dose`
    (never below 0); a taken dose changed to skipped gives it back. Raises DoseInvalid.
    """
    now = now or timezone.now()
    scheduled_for = scheduled_for.astimezone(UTC)
    _validate_log(regimen, scheduled_for=scheduled_for, status=status, taken_at=taken_at, now=now)
    if status == LoggedStatus.TAKEN and taken_at is None:
        # A dose logged after its time was taken then, as far as anyone knows (the person ticks off yesterday's
        # pills today); one logged ahead of its time is taken now.
        taken_at = scheduled_for if regimen.is_as_needed or scheduled_for <= now else now
    fields = {"status": status, "taken_at": taken_at if status == LoggedStatus.TAKEN else None}
    log: DoseLog | None = None
    previous: str | None = None
    if regimen.is_as_needed or is_scheduled_instant(regimen, tz_of(regimen.user), scheduled_for):
        try:
            with transaction.atomic():
                log = DoseLog.objects.create(
                    regimen=regimen,
                    user_id=regimen.user_id,
                    scheduled_for=scheduled_for,
                    scheduled=not regimen.is_as_needed,
                    **fields,
                )
        except IntegrityError:
            # The unique (regimen, scheduled_for) key decided: the dose is already on record (a second log, or
            # the missed-dose task got there first), so that row is updated below.
            log = None
    created = log is not None
    if log is None:
        # Also the way to log a dose on record that the current pattern no longer has (materialised as missed
        # under an older schedule).
        log = DoseLog.objects.select_for_update().filter(regimen=regimen, scheduled_for=scheduled_for).first()
        if log is None:
            raise field_error(DoseInvalid, "scheduled_for", "This is not one of the regimen's scheduled dose times.")
        previous = log.status
        for key, value in fields.items():
            setattr(log, key, value)
        log.save(update_fields=[*fields, "updated_at"])
    _adjust_quantity(regimen, was_taken=previous == DoseStatus.TAKEN, is_taken=status == DoseStatus.TAKEN, now=now)
    if status == DoseStatus.TAKEN:
        dose_taken(user_id=regimen.user_id, regimen_id=regimen.pk, at=now)
    person_data_changed(regimen.user_id)
    return log, created


def _adjust_quantity(regimen: Regimen, *, was_taken: bool, is_taken: bool, now: datetime) -> None:
    if was_taken == is_taken:
        return
    tracked = Regimen.objects.filter(pk=regimen.pk, quantity_remaining__isnull=False)
    if is_taken:
        # One UPDATE: concurrent logs each subtract their dose, and the count stops at zero.
        tracked.update(
            quantity_remaining=Greatest(F("quantity_remaining") - F("quantity_per_dose"), Value(Decimal("0"))),
            updated_at=now,
        )
    else:
        tracked.update(quantity_remaining=F("quantity_remaining") + F("quantity_per_dose"), updated_at=now)
    refill_rearm_or_remind(regimen_id=regimen.pk, now=now)


def refill_rearm_or_remind(*, regimen_id, now: datetime) -> None:
    """Once per crossing: claim the reminder with a conditional update (quantity at or below the threshold and not
    reminded yet), notify only if the claim succeeded; re-arm when the quantity is back above the threshold."""
    Regimen.objects.filter(pk=regimen_id, refill_reminded_at__isnull=False).filter(
        Q(quantity_remaining__isnull=True)
        | Q(refill_threshold__isnull=True)
        | Q(quantity_remaining__gt=F("refill_threshold"))
    ).update(refill_reminded_at=None)
    claimed = Regimen.objects.filter(
        pk=regimen_id,
        is_active=True,
        refill_reminded_at__isnull=True,
        quantity_remaining__isnull=False,
        refill_threshold__isnull=False,
        quantity_remaining__lte=F("refill_threshold"),
    ).update(refill_reminded_at=now)
    if not claimed:
        return
    regimen = Regimen.objects.select_related("user").get(pk=regimen_id)
    refill_notify(regimen=regimen, now=now)
    logger.info("refill_reminder", extra={"regimen_id": str(regimen.pk)})


def materialise_missed(regimen: Regimen, tz: tzinfo, *, until: datetime) -> int:
    """Write `missed` rows for the regimen's doses due before UNTIL since its cursor that nobody logged; answer how
    many doses the span held (logged ones are left as they are). Doses before the regimen was entered are never
    missed: they stay pending until the person logs them."""
    start = max(filter(None, (regimen.missed_checked_through, regimen.schedule_from, regimen.entered_at)))
    rows = [
        DoseLog(regimen=regimen, user_id=regimen.user_id, scheduled_for=instant, status=DoseStatus.MISSED)
        for instant in doses_between(regimen, tz, start, until)
    ]
    # ignore_conflicts: the unique (regimen, scheduled_for) key keeps a logged dose as it is, and makes a second
    # run (or a run racing a log) a no-op instead of a duplicate.
    if rows:
        DoseLog.objects.bulk_create(rows, ignore_conflicts=True)
    Regimen.objects.filter(pk=regimen.pk).filter(
        Q(missed_checked_through__isnull=True) | Q(missed_checked_through__lt=until)
    ).update(missed_checked_through=until)
    regimen.missed_checked_through = max(until, regimen.missed_checked_through or until)
    return len(rows)


def doses_mark_missed(*, now: datetime | None = None) -> int:
    """Record as missed every scheduled dose left unlogged past the grace window; answer how many doses were looked at.

    Idempotent: each regimen keeps a cursor (`missed_checked_through`), and the unique key refuses duplicates,
    so running twice, or two workers at once, leaves the same rows.
    """
    now = now or timezone.now()
    cutoff = now - grace_window()
    regimens = (
        Regimen.objects.exclude(frequency=Frequency.AS_NEEDED)
        .filter(Q(missed_checked_through__isnull=True) | Q(missed_checked_through__lt=cutoff))
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=cutoff - MISSED_SCAN_TAIL))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=(cutoff - MISSED_SCAN_TAIL).date()))
        .filter(schedule_from__lt=cutoff, entered_at__lt=cutoff)
        .select_related("user__profile")
    )
    total = 0
    for regimen in regimens.iterator(chunk_size=500):
        with transaction.atomic():
            # The row lock makes this run the only one recording this regimen's span: the missed rows created
            # under it are exactly the doses this run found missed, which the alert rules hear of once.
            locked = Regimen.objects.select_for_update().filter(pk=regimen.pk).first()
            if locked is None or (locked.missed_checked_through and locked.missed_checked_through >= cutoff):
                continue
            locked.user = regimen.user
            started = timezone.now()
            doses = materialise_missed(locked, tz_of(regimen.user), until=cutoff)
            if doses:
                # A span without doses changed nothing the dashboard shows: no recomputation for it.
                person_data_changed(regimen.user_id)
                missed = DoseLog.objects.filter(regimen=locked, status=DoseStatus.MISSED, created_at__gte=started)
                doses_missed(
                    doses=[
                        MissedDose(user_id=regimen.user_id, regimen_id=regimen.pk, scheduled_for=at)
                        for at in missed.values_list("scheduled_for", flat=True)
                    ]
                )
            total += doses
    logger.info("doses_marked_missed", extra={"count": total})
    return total
