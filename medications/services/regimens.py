"""Writes of regimens: starting (by the person or by prescription), changing and ending them.

A regimen change locks the regimen row (`select_for_update` of the regimen only). Every function answers the
regimen with its interaction warnings against the person's other active regimens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.access import grant_require_write
from accounts.audit import audit_record
from accounts.choices import AuditAction, CareScope
from jeghealth_backend.api.exceptions import Conflict
from jeghealth_backend.person_cache import person_data_changed

from ..choices import DoseForm
from ..doses import tz_of
from ..exceptions import RegimenInvalid, field_error
from ..interactions import Finding, SubjectResolver, interactions_with
from ..models import Medication, Regimen
from ..schedule import Schedule, local_midnight, next_dose_after, normalise_schedule
from ..selectors import active_regimens
from .dose_logs import materialise_missed, refill_rearm_or_remind

logger = logging.getLogger("jeghealth.medications")

SCHEDULE_FIELDS = ("frequency", "schedule_times", "interval_hours", "days_of_week")
PLAIN_FIELDS = (
    "dosage",
    "dosage_unit",
    "form",
    "start_date",
    "end_date",
    "instructions",
    "quantity_remaining",
    "quantity_per_dose",
    "refill_threshold",
)


@dataclass(frozen=True)
class RegimenResult:
    regimen: Regimen
    interaction_warnings: list[Finding]


def _local_today(user, now: datetime):
    return now.astimezone(tz_of(user)).date()


def _warnings_for(regimen: Regimen) -> list[Finding]:
    resolver = SubjectResolver()
    others = [resolver.for_regimen(r) for r in active_regimens(user=regimen.user, exclude_id=regimen.pk)]
    return interactions_with(resolver.for_regimen(regimen), others)


def _apply_schedule(regimen: Regimen, schedule: Schedule) -> None:
    regimen.frequency = schedule.frequency
    regimen.schedule_times = schedule.schedule_times
    regimen.interval_hours = schedule.interval_hours
    regimen.days_of_week = schedule.days_of_week


def _check_dates(regimen: Regimen) -> None:
    if regimen.end_date is not None and regimen.end_date < regimen.start_date:
        raise field_error(RegimenInvalid, "end_date", "The end date cannot be before the start date.")


def _save(regimen: Regimen, **kwargs) -> None:
    try:
        with transaction.atomic():
            regimen.save(**kwargs)
    except IntegrityError:
        # The serializers and the checks above stop bad values first; this is the database's last word.
        raise RegimenInvalid("The regimen breaks a rule of the stored data.") from None


@transaction.atomic
def regimen_create(*, user, data: dict[str, Any], prescribed_by=None, now: datetime | None = None) -> RegimenResult:
    """Start a regimen for USER from validated DATA; answer it with its interaction warnings.

    DATA names a catalog `medication` (a Medication) or a free-text `name` (or both: the name is what the person
    calls it). Omitted schedule times take the frequency's defaults. NOW is the moment of entry: doses between the
    start date and it are pending until logged and never become missed. Raises RegimenInvalid or ScheduleInvalid.
    Side effects: a refill reminder when the quantity starts at or below the threshold.
    """
    now = now or timezone.now()
    medication: Medication | None = data.get("medication")
    name = (data.get("name") or "").strip() or (medication.generic_name if medication else "")
    if not name:
        raise field_error(RegimenInvalid, "medication", "Give a catalog medication or a name.")
    regimen = Regimen(user=user, medication=medication, name=name, prescribed_by=prescribed_by, entered_at=now)
    for field in PLAIN_FIELDS:
        if field in data:
            setattr(regimen, field, data[field])
    # A regimen started before the day it is entered has doses from its start date on: listed as pending until
    # logged (entered_at), so that the app can ask "did you take these?" without a run of missed doses.
    regimen.schedule_from = min(now, local_midnight(regimen.start_date, tz_of(user)))
    if not data.get("form"):
        regimen.form = medication.forms[0] if medication and medication.forms else DoseForm.OTHER
    _apply_schedule(
        regimen,
        normalise_schedule(
            frequency=data["frequency"],
            start_date=regimen.start_date,
            schedule_times=data.get("schedule_times"),
            interval_hours=data.get("interval_hours"),
            days_of_week=data.get("days_of_week"),
        ),
    )
    _check_dates(regimen)
    regimen.next_reminder_at = next_dose_after(regimen, tz_of(user), now)
    _save(regimen, force_insert=True)
    refill_rearm_or_remind(regimen_id=regimen.pk, now=now)
    person_data_changed(user.pk)
    logger.info("regimen_created", extra={"regimen_id": str(regimen.pk), "user_id": str(user.pk)})
    regimen.refresh_from_db()
    return RegimenResult(regimen, _warnings_for(regimen))


def _schedule_for_update(regimen: Regimen, data: dict[str, Any]) -> Schedule:
    frequency = data.get("frequency", regimen.frequency)
    same = frequency == regimen.frequency

    def pick(field: str, current):
        # A new frequency starts from its own defaults unless the request says otherwise.
        return data.get(field, current if same else None)

    return normalise_schedule(
        frequency=frequency,
        start_date=data.get("start_date", regimen.start_date),
        schedule_times=pick("schedule_times", regimen.schedule_times),
        interval_hours=pick("interval_hours", regimen.interval_hours),
        days_of_week=pick("days_of_week", regimen.days_of_week),
    )


@transaction.atomic
def regimen_update(*, regimen: Regimen, data: dict[str, Any], now: datetime | None = None) -> RegimenResult:
    """Change a regimen; answer it with its interaction warnings. Raises Conflict for an ended regimen.

    A schedule change takes effect now: doses the old schedule had due before now and nobody logged are
    recorded as missed first (they can still be logged afterwards), so the past keeps the schedule it had.
    Moving the start date earlier without a schedule change lists the doses back to it, as pending until logged
    (like a regimen entered after its start), as long as the schedule is still the one entered.
    """
    now = now or timezone.now()
    regimen = Regimen.objects.select_for_update(of=("self",)).select_related("user__profile").get(pk=regimen.pk)
    if not regimen.is_active:
        raise Conflict("This regimen has ended and can no longer be changed; start a new one.")
    new_schedule = None
    if any(field in data for field in (*SCHEDULE_FIELDS, "start_date")):
        schedule = _schedule_for_update(regimen, data)
        old = (regimen.frequency, regimen.schedule_times, regimen.interval_hours, regimen.days_of_week)
        if old != (schedule.frequency, schedule.schedule_times, schedule.interval_hours, schedule.days_of_week):
            new_schedule = schedule
            # Before anything changes: the old schedule's unlogged past doses, with the old dates.
            materialise_missed(regimen, tz_of(regimen.user), until=now)
    if "medication" in data:
        regimen.medication = data["medication"]
        if not data.get("name") and regimen.medication is not None:
            regimen.name = regimen.medication.generic_name
    if data.get("name"):
        regimen.name = data["name"].strip()
    for field in PLAIN_FIELDS:
        if field in data:
            setattr(regimen, field, data[field])
    if new_schedule is not None:
        _apply_schedule(regimen, new_schedule)
        regimen.schedule_from = now
    elif "start_date" in data and regimen.schedule_from <= regimen.entered_at:
        regimen.schedule_from = min(regimen.schedule_from, local_midnight(regimen.start_date, tz_of(regimen.user)))
    _check_dates(regimen)
    regimen.next_reminder_at = next_dose_after(regimen, tz_of(regimen.user), now)
    _save(regimen)
    refill_rearm_or_remind(regimen_id=regimen.pk, now=now)
    person_data_changed(regimen.user_id)
    regimen.refresh_from_db()
    return RegimenResult(regimen, _warnings_for(regimen))


@transaction.atomic
def regimen_end(*, regimen: Regimen, now: datetime | None = None) -> Regimen:
    """End a regimen now (DELETE): no doses after this instant, no more reminders. History is kept. Idempotent."""
    now = now or timezone.now()
    regimen = Regimen.objects.select_for_update(of=("self",)).select_related("user__profile").get(pk=regimen.pk)
    if not regimen.is_active:
        return regimen
    today = _local_today(regimen.user, now)
    regimen.is_active = False
    regimen.ended_at = now
    regimen.end_date = max(regimen.start_date, min(regimen.end_date or today, today))
    regimen.next_reminder_at = None
    _save(regimen)
    person_data_changed(regimen.user_id)
    logger.info("regimen_ended", extra={"regimen_id": str(regimen.pk)})
    return regimen


@transaction.atomic
def prescription_create(*, doctor, patient_id, data: dict[str, Any], request=None) -> RegimenResult:
    """A doctor starts a regimen for a patient who granted them the `medications` scope; audited.

    Raises Http404 when there is no such live grant (whether or not the patient exists), and PermissionDenied
    when the grant is a caregiver's (a caregiver never writes the patient's data).
    """
    grant_require_write(grantee=doctor, patient_id=patient_id, scope=CareScope.MEDICATIONS)
    patient = get_user_model().objects.select_related("profile").filter(pk=patient_id, is_active=True).first()
    if patient is None:
        raise Http404
    result = regimen_create(user=patient, data=data, prescribed_by=doctor)
    audit_record(
        actor=doctor,
        patient=patient,
        action=AuditAction.CREATE,
        resource_type="medication_regimen",
        resource_ids=[str(result.regimen.pk)],
        request=request,
    )
    return result
