"""Writes of appointments: provider profiles, booking, the lifecycle, rescheduling and calendar feeds.

Each function owns its transaction. Transitions lock the appointment row (`select_for_update`), so two
requests changing one appointment apply one after the other and the second sees the first's result.
Double booking is refused by the database (PostgreSQL exclusion constraints on active appointments of a
provider and of a patient); the IntegrityError becomes a 409. Notices to the other party go after commit.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_has_role
from jeghealth_backend.person_cache import person_data_changed

from . import notices
from .choices import ACTIVE_STATUSES, AppointmentStatus, AppointmentType
from .exceptions import BookingInvalid, IllegalTransition, NotAllowed, SlotTaken
from .models import PROVIDER_NAME_MAX_LENGTH, Appointment, AppointmentReschedule, CalendarFeed, ProviderProfile
from .scheduling import BOOKING_HORIZON_DAYS, Span
from .selectors import provider_get, provider_profile_for, provider_working_spans

logger = logging.getLogger(__name__)

PROVIDER_TAKEN = "The provider already has an appointment at that time."
PATIENT_TAKEN = "You already have another appointment at that time."
CONSTRAINT_MESSAGES = {"appt_provider_no_overlap": PROVIDER_TAKEN, "appt_patient_no_overlap": PATIENT_TAKEN}

# --- provider profiles -------------------------------------------------------------------------------------

PROFILE_FIELDS = (
    "specialty",
    "clinic_name",
    "clinic_address",
    "consultation_minutes",
    "timezone",
    "working_hours",
    "days_off",
)


def provider_profile_get_or_create(*, doctor: User) -> ProviderProfile:
    """DOCTOR's provider profile, created with the defaults on first access. NotAllowed for a non-doctor."""
    if not user_has_role(doctor, "doctor"):
        raise NotAllowed("Only doctors have a provider profile.")
    defaults = provider_profile_for(doctor)
    # get_or_create retries the read when a concurrent first access inserted the row first.
    profile, _ = ProviderProfile.objects.get_or_create(doctor=doctor, defaults={"timezone": defaults.timezone})
    return profile


@transaction.atomic
def provider_profile_update(*, doctor: User, data: dict[str, Any]) -> ProviderProfile:
    """Change DOCTOR's provider profile. Existing appointments keep their times whatever the new hours."""
    provider_profile_get_or_create(doctor=doctor)
    profile = ProviderProfile.objects.select_for_update().get(doctor=doctor)
    changed = [name for name in PROFILE_FIELDS if name in data]
    for name in changed:
        setattr(profile, name, data[name])
    if changed:
        profile.save(update_fields=[*changed, "updated_at"])
    return profile


# --- booking rules -----------------------------------------------------------------------------------------


def _bookable_span(*, provider: User, start_time: datetime, minutes: int, now: datetime) -> Span:
    """The span [start, start + minutes) if the provider's calendar allows it; BookingInvalid otherwise."""
    if start_time <= now:
        raise BookingInvalid("start_time", "The start time is in the past.")
    if start_time > now + timedelta(days=BOOKING_HORIZON_DAYS):
        raise BookingInvalid("start_time", f"Appointments can be booked up to {BOOKING_HORIZON_DAYS} days ahead.")
    profile = provider_profile_for(provider)
    span = Span(start_time, start_time + timedelta(minutes=minutes))
    local_day = start_time.astimezone(profile.tzinfo).date()
    if local_day.isoformat() in set(profile.days_off or []):
        raise BookingInvalid("start_time", "The provider does not work on that day.")
    if not any(working.contains(span) for working in provider_working_spans(profile=profile, day=local_day)):
        raise BookingInvalid("start_time", "The appointment is outside the provider's working hours.")
    return span


def _assert_no_overlap(*, provider_id, patient_id, span: Span, exclude_id=None) -> None:
    """The SQLite stand-in for the exclusion constraints; call it inside the writing transaction.

    On PostgreSQL it does nothing: the constraints decide atomically, and a check here would only race. On
    SQLite, every transaction begins IMMEDIATE (settings), holding the database's single write lock, so no other
    booking can commit between this check and the insert that follows it.
    """
    if connection.vendor == "postgresql":
        return
    overlapping = Appointment.objects.filter(
        status__in=ACTIVE_STATUSES, start_time__lt=span.end, end_time__gt=span.start
    ).exclude(pk=exclude_id)
    if overlapping.filter(provider_id=provider_id).exists():
        raise SlotTaken(PROVIDER_TAKEN)
    if overlapping.filter(patient_id=patient_id).exists():
        raise SlotTaken(PATIENT_TAKEN)


def _overlap_conflict(exc: IntegrityError) -> SlotTaken | None:
    """The 409 for an exclusion-constraint violation, or None for any other integrity error."""
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    message = CONSTRAINT_MESSAGES.get(name)
    return SlotTaken(message) if message else None


def _room_url() -> str:
    # Hex, not base64: room names of some services (Jitsi) are case-insensitive, which would halve the alphabet.
    return settings.TELEMEDICINE_ROOM_URL_PATTERN.replace("{token}", secrets.token_hex(16))


def appointment_create(
    *,
    patient: User,
    provider_id,
    start_time: datetime,
    appointment_type: str,
    duration_minutes: int | None = None,
    reason: str = "",
) -> Appointment:
    """Book PATIENT with the doctor PROVIDER_ID at START_TIME (default length: the provider's consultation).

    Raises BookingInvalid (400) for a non-doctor, oneself, the past, a day off or a time outside working hours,
    and SlotTaken (409) when the provider or the patient already has an active appointment overlapping it.
    After commit the provider is told.
    """
    now = timezone.now()
    provider = provider_get(provider_id=provider_id)
    if provider is None:
        raise BookingInvalid("provider", "This is not a provider: choose one from providers/.")
    if provider.pk == patient.pk:
        raise BookingInvalid("provider", "You cannot book an appointment with yourself.")
    minutes = duration_minutes or provider_profile_for(provider).consultation_minutes
    span = _bookable_span(provider=provider, start_time=start_time, minutes=minutes, now=now)
    try:
        with transaction.atomic():
            _assert_no_overlap(provider_id=provider.pk, patient_id=patient.pk, span=span)
            appointment = Appointment.objects.create(
                patient=patient,
                provider=provider,
                provider_name=provider.full_name[:PROVIDER_NAME_MAX_LENGTH],
                start_time=span.start,
                end_time=span.end,
                appointment_type=appointment_type,
                reason=reason,
                meeting_url=_room_url() if appointment_type == AppointmentType.TELEMEDICINE else "",
                slot_booked_at=now,
                created_at=now,
            )
            transaction.on_commit(partial(notices.booking_notice, appointment_id=appointment.pk))
            _patient_data_changed(appointment)
    except IntegrityError as exc:
        conflict = _overlap_conflict(exc)
        if conflict is None:
            raise
        raise conflict from exc
    logger.info("appointment_booked", extra={"appointment_id": str(appointment.pk), "provider_id": str(provider.pk)})
    return appointment


# --- lifecycle ---------------------------------------------------------------------------------------------


def _patient_data_changed(appointment: Appointment) -> None:
    # Only the patient's: a dashboard lists the appointments its person attends as the patient, never those a
    # doctor gives (reports.sources.upcoming_appointments).
    person_data_changed(appointment.patient_id)


def _locked(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


def _require_provider(appointment: Appointment, actor: User, verb: str) -> None:
    if actor.pk != appointment.provider_id:
        raise NotAllowed(f"Only the appointment's doctor can {verb} it.")


def _require_party(appointment: Appointment, actor: User, verb: str) -> None:
    if actor.pk not in (appointment.patient_id, appointment.provider_id):
        raise NotAllowed(f"Only the patient or the doctor of the appointment can {verb} it.")


def _require_status(appointment: Appointment, allowed: tuple[str, ...], verb: str) -> None:
    if appointment.status not in allowed:
        raise IllegalTransition(f"A {appointment.get_status_display().lower()} appointment cannot be {verb}.")


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, actor: User) -> Appointment:
    """scheduled → confirmed, by the provider only."""
    appointment = _locked(appointment)
    _require_provider(appointment, actor, "confirm")
    _require_status(appointment, (AppointmentStatus.SCHEDULED,), "confirmed")
    appointment.status = AppointmentStatus.CONFIRMED
    appointment.confirmed_at = timezone.now()
    appointment.save(update_fields=["status", "confirmed_at", "updated_at"])
    _patient_data_changed(appointment)
    return appointment


@transaction.atomic
def appointment_complete(*, appointment: Appointment, actor: User) -> Appointment:
    """confirmed → completed, by the provider only. No waiting for the booked end: consultations end early."""
    appointment = _locked(appointment)
    _require_provider(appointment, actor, "complete")
    _require_status(appointment, (AppointmentStatus.CONFIRMED,), "completed")
    appointment.status = AppointmentStatus.COMPLETED
    appointment.completed_at = timezone.now()
    appointment.save(update_fields=["status", "completed_at", "updated_at"])
    _patient_data_changed(appointment)
    return appointment


@transaction.atomic
def appointment_mark_no_show(*, appointment: Appointment, actor: User) -> Appointment:
    """confirmed → no_show, by the provider only, and only once the start time has passed."""
    appointment = _locked(appointment)
    _require_provider(appointment, actor, "mark as a no-show")
    _require_status(appointment, (AppointmentStatus.CONFIRMED,), "marked as a no-show")
    now = timezone.now()
    if now < appointment.start_time:
        raise IllegalTransition("A patient can only be marked as a no-show once the start time has passed.")
    appointment.status = AppointmentStatus.NO_SHOW
    appointment.no_show_at = now
    appointment.save(update_fields=["status", "no_show_at", "updated_at"])
    _patient_data_changed(appointment)
    return appointment


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, actor: User, reason: str = "", for_clinic: bool = False
) -> Appointment:
    """scheduled | confirmed → cancelled, by the patient or the provider; the slot is free at once.

    FOR_CLINIC: ACTOR is staff of the provider's clinic acting for it (the caller checked so,
    `accounts.access.clinic_patient_for`); the patient is told as when the provider cancels. After commit the
    other party is told.
    """
    appointment = _locked(appointment)
    if not for_clinic:
        _require_party(appointment, actor, "cancel")
    _require_status(appointment, ACTIVE_STATUSES, "cancelled")
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.cancelled_by = actor
    appointment.cancellation_reason = reason
    appointment.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancellation_reason", "updated_at"])
    transaction.on_commit(partial(notices.cancellation_notice, appointment_id=appointment.pk))
    _patient_data_changed(appointment)
    return appointment


def appointment_reschedule(
    *, appointment: Appointment, actor: User, start_time: datetime, for_clinic: bool = False
) -> Appointment:
    """Move an active appointment to START_TIME, same length, by the patient or the provider.

    The rules of booking apply (BookingInvalid, SlotTaken). Each move is kept in AppointmentReschedule. Moved
    by the patient, a confirmed appointment goes back to scheduled (the doctor confirmed another time); moved
    by the doctor, it keeps its status. Reminders follow the new time. After commit the other party is told.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            appointment = _locked(appointment)
            if not for_clinic:  # staff of the provider's clinic, checked by the caller (see appointment_cancel)
                _require_party(appointment, actor, "reschedule")
            _require_status(appointment, ACTIVE_STATUSES, "rescheduled")
            if start_time == appointment.start_time:
                raise BookingInvalid("start_time", "The appointment already starts at that time.")
            provider = provider_get(provider_id=appointment.provider_id)
            if provider is None:
                raise BookingInvalid("start_time", "This provider no longer takes appointments.")
            span = _bookable_span(
                provider=provider, start_time=start_time, minutes=appointment.duration_minutes, now=now
            )
            _assert_no_overlap(
                provider_id=appointment.provider_id,
                patient_id=appointment.patient_id,
                span=span,
                exclude_id=appointment.pk,
            )
            move = AppointmentReschedule.objects.create(
                appointment=appointment,
                previous_start_time=appointment.start_time,
                previous_end_time=appointment.end_time,
                new_start_time=span.start,
                new_end_time=span.end,
                rescheduled_by=actor,
                created_at=now,
            )
            appointment.start_time, appointment.end_time, appointment.slot_booked_at = span.start, span.end, now
            fields = ["start_time", "end_time", "slot_booked_at", "updated_at"]
            if actor.pk == appointment.patient_id and appointment.status == AppointmentStatus.CONFIRMED:
                appointment.status, appointment.confirmed_at = AppointmentStatus.SCHEDULED, None
                fields += ["status", "confirmed_at"]
            appointment.save(update_fields=fields)
            transaction.on_commit(
                partial(notices.reschedule_notice, appointment_id=appointment.pk, reschedule_id=move.pk)
            )
            _patient_data_changed(appointment)
    except IntegrityError as exc:
        conflict = _overlap_conflict(exc)
        if conflict is None:
            raise
        raise conflict from exc
    return appointment


@transaction.atomic
def appointment_update(*, appointment: Appointment, actor: User, data: dict[str, Any]) -> Appointment:
    """Change the free text of an appointment: the patient their `reason`, the doctor their `notes`.

    Status and times change only through the lifecycle actions. NotAllowed for the other party's field.
    """
    appointment = _locked(appointment)
    _require_party(appointment, actor, "change")
    if "reason" in data and actor.pk != appointment.patient_id:
        raise NotAllowed("Only the patient can change the reason for the visit.")
    if "notes" in data and actor.pk != appointment.provider_id:
        raise NotAllowed("Only the doctor can write the appointment's notes.")
    changed = [name for name in ("reason", "notes") if name in data]
    for name in changed:
        setattr(appointment, name, data[name])
    if changed:
        appointment.save(update_fields=[*changed, "updated_at"])
        _patient_data_changed(appointment)
    return appointment


PROVIDER_GONE_REASON = "The provider no longer offers appointments here."


@transaction.atomic
def provider_appointments_detach(*, provider: User, now: datetime | None = None) -> int:
    """Prepare PROVIDER's appointments for the deletion of their account; answer how many were cancelled.

    Called just before the account is deleted (`appointments.erasure`), inside the deletion's transaction; the
    deletion then sets `provider` to NULL. Every appointment with them keeps their name (`provider_name`); those
    still to come are cancelled (nobody will see the patient), and their patients are told after commit.
    Past ones keep their status: whether they took place is history, not something to rewrite.
    """
    now = now or timezone.now()
    with_provider = Appointment.objects.filter(provider=provider)
    with_provider.update(provider_name=provider.full_name[:PROVIDER_NAME_MAX_LENGTH])
    upcoming = list(
        with_provider.select_for_update()
        .filter(status__in=ACTIVE_STATUSES, start_time__gt=now)
        .values_list("pk", "patient_id")
    )
    Appointment.objects.filter(pk__in=[pk for pk, _ in upcoming]).update(
        status=AppointmentStatus.CANCELLED,
        cancelled_at=now,
        cancelled_by=None,
        cancellation_reason=PROVIDER_GONE_REASON,
        updated_at=now,
    )
    for pk, patient_id in upcoming:
        transaction.on_commit(partial(notices.provider_gone_notice, appointment_id=pk))
        person_data_changed(patient_id)
    logger.info("provider_appointments_detached", extra={"provider_id": str(provider.pk), "cancelled": len(upcoming)})
    return len(upcoming)


# --- calendar feeds ----------------------------------------------------------------------------------------


def calendar_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_feed_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, calendar_token_digest(token)


def calendar_feed_token(*, user: User) -> str:
    """USER's feed token, made on first use. Shown again on each call until rotated or revoked."""
    token, digest = _new_feed_token()
    feed, _ = CalendarFeed.objects.get_or_create(user=user, defaults={"token": token, "token_hash": digest})
    return feed.token


def calendar_feed_rotate(*, user: User) -> str:
    """A new token for USER's feed; the old URL answers 404 from now on."""
    token, digest = _new_feed_token()
    CalendarFeed.objects.update_or_create(
        user=user, defaults={"token": token, "token_hash": digest, "created_at": timezone.now()}
    )
    logger.info("calendar_feed_rotated", extra={"user_id": str(user.pk)})
    return token


def calendar_feed_revoke(*, user: User) -> None:
    """USER's feed URL stops working at once; `calendar/` makes a new one when asked again."""
    CalendarFeed.objects.filter(user=user).delete()
    logger.info("calendar_feed_revoked", extra={"user_id": str(user.pk)})
