"""Writes of recurring appointments: booking a series, and cancelling an occurrence and all that follow it.

A series is all or nothing. Every occurrence goes through the rules of a single booking (appointments/services.py:
the provider's calendar, and the double-booking constraints of PostgreSQL), all inside one transaction: when any
occurrence cannot be booked, none is, and the answer lists every start that failed, not only the first.

On PostgreSQL each occurrence is inserted in a savepoint, so that a violated exclusion constraint marks that start
as clashing and the others are still tried; the outer transaction then rolls back. The database decides, so two
series booked at the same moment cannot both win: the second one's insert waits for the first's transaction and
fails once it commits. Occurrences are inserted in time order, so two series never wait on each other in a cycle.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from . import notices
from .choices import ACTIVE_STATUSES, AppointmentStatus, AppointmentType
from .exceptions import BookingInvalid, SlotTaken
from .models import Appointment, AppointmentSeries
from .recurrence import RecurrenceInvalid, recurrence_expand
from .selectors import provider_get, provider_profile_for
from .services import (
    _assert_no_overlap,
    _bookable_span,
    _locked,
    _overlap_conflict,
    _patient_data_changed,
    _require_party,
    _require_status,
    _room_url,
)

logger = logging.getLogger(__name__)

CLASH_MESSAGE = "Some occurrences clash with other appointments; nothing was booked."


def _provider_local(moment: datetime, tz) -> str:
    return moment.astimezone(tz).isoformat()


def appointment_series_create(
    *,
    patient: User,
    provider_id,
    start_time: datetime,
    appointment_type: str,
    recurrence: str,
    duration_minutes: int | None = None,
    reason: str = "",
) -> Appointment:
    """Book PATIENT with PROVIDER_ID at START_TIME and at every later occurrence of the RRULE RECURRENCE.

    Occurrences keep the wall-clock time of the provider's zone across DST changes. Answers the first occurrence.
    Raises BookingInvalid (400, field `recurrence`) for a rule that is not an RRULE or is over the bounds
    (recurrence.py), or when an occurrence falls on a day off, outside working hours or beyond the booking horizon;
    BookingInvalid on `provider` as for a single booking; SlotTaken (409) with `fields.recurrence` listing every
    start (provider's offset) that clashes with an active appointment of the provider or the patient. Either way
    nothing is booked. After commit the provider is told once, for the whole series.
    """
    now = timezone.now()
    provider = provider_get(provider_id=provider_id)
    if provider is None:
        raise BookingInvalid("provider", "This is not a provider: choose one from providers/.")
    if provider.pk == patient.pk:
        raise BookingInvalid("provider", "You cannot book an appointment with yourself.")
    profile = provider_profile_for(provider)
    tz = profile.tzinfo
    try:
        rule = recurrence_expand(text=recurrence, start=start_time, tz=tz)
    except RecurrenceInvalid as exc:
        raise BookingInvalid("recurrence", str(exc)) from None
    minutes = duration_minutes or profile.consultation_minutes
    spans, refused = [], []
    for start in rule.starts:
        try:
            spans.append(_bookable_span(provider=provider, start_time=start, minutes=minutes, now=now))
        except BookingInvalid as exc:
            refused.append(f"{_provider_local(start, tz)}: {exc.message}")
    if refused:
        raise BookingInvalid("recurrence", "; ".join(refused))

    clashes: list[str] = []
    with transaction.atomic():
        series = AppointmentSeries.objects.create(
            patient=patient, recurrence=rule.rule, tz_name=profile.timezone, created_at=now
        )
        first = None
        for span in spans:
            try:
                # A savepoint per occurrence: a violated constraint fails this start only, the next is still tried.
                with transaction.atomic():
                    _assert_no_overlap(provider_id=provider.pk, patient_id=patient.pk, span=span)
                    appointment = Appointment.objects.create(
                        patient=patient,
                        provider=provider,
                        series=series,
                        start_time=span.start,
                        end_time=span.end,
                        appointment_type=appointment_type,
                        reason=reason,
                        meeting_url=_room_url() if appointment_type == AppointmentType.TELEMEDICINE else "",
                        slot_booked_at=now,
                        created_at=now,
                    )
            except SlotTaken:
                clashes.append(_provider_local(span.start, tz))
                continue
            except IntegrityError as exc:
                if _overlap_conflict(exc) is None:
                    raise
                clashes.append(_provider_local(span.start, tz))
                continue
            first = first or appointment
        if clashes:
            # Raised inside the outer atomic block: the series row and every occurrence inserted roll back.
            raise SlotTaken(CLASH_MESSAGE, fields={"recurrence": clashes})
        transaction.on_commit(partial(notices.series_booking_notice, series_id=series.pk))
        _patient_data_changed(first)
    logger.info(
        "appointment_series_booked",
        extra={"series_id": str(series.pk), "provider_id": str(provider.pk), "occurrences": len(spans)},
    )
    return first


@transaction.atomic
def appointment_cancel_following(
    *, appointment: Appointment, actor: User, reason: str = "", for_clinic: bool = False
) -> Appointment:
    """Cancel APPOINTMENT and every later active occurrence of its series, by the patient or the provider.

    APPOINTMENT must be active (IllegalTransition otherwise); later occurrences that are no longer active (already
    cancelled) are left as they are. An appointment of no series is cancelled alone. The rows are locked in time
    order, as a booking inserts them. After commit the other party is told once.
    """
    appointment = _locked(appointment)
    if not for_clinic:  # staff of the provider's clinic, checked by the caller
        _require_party(appointment, actor, "cancel")
    _require_status(appointment, ACTIVE_STATUSES, "cancelled")
    following = Appointment.objects.filter(pk=appointment.pk)
    if appointment.series_id is not None:
        following = Appointment.objects.filter(
            series_id=appointment.series_id, start_time__gte=appointment.start_time, status__in=ACTIVE_STATUSES
        )
    ids = list(following.select_for_update().order_by("start_time").values_list("pk", flat=True))
    now = timezone.now()
    Appointment.objects.filter(pk__in=ids).update(
        status=AppointmentStatus.CANCELLED,
        cancelled_at=now,
        cancelled_by=actor,
        cancellation_reason=reason,
        updated_at=now,
    )
    transaction.on_commit(
        partial(notices.series_cancellation_notice, appointment_id=appointment.pk, cancelled=len(ids))
    )
    _patient_data_changed(appointment)
    logger.info(
        "appointment_series_cancelled",
        extra={"appointment_id": str(appointment.pk), "series_id": str(appointment.series_id), "cancelled": len(ids)},
    )
    appointment.refresh_from_db()
    return appointment
