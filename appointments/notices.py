"""What the people of an appointment are told, through `notifications.services.notify`.

Every notice uses the category `appointment_reminder`: it is the category a person controls appointment
messages with in their preferences (a doctor who mutes it mutes booking notices too), whereas `system` is for
account and service messages. Each notice has a `dedupe_key`, so running the same notice twice stores one.
Notices carry times in the recipient's own time zone and never the reason for the visit (health information
does not belong on a lock screen or in an e-mail subject).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from accounts.models import User
from notifications.choices import Category
from notifications.services import notify

from .choices import AppointmentType
from .models import Appointment, ProviderProfile

logger = logging.getLogger(__name__)

CATEGORY = Category.APPOINTMENT_REMINDER
TYPE_PHRASES = {
    AppointmentType.IN_PERSON: "in person",
    AppointmentType.TELEMEDICINE: "by video",
    AppointmentType.PHONE: "by phone",
}


def _local(moment: datetime, person: User) -> str:
    """MOMENT on PERSON's clock: a doctor's practice zone if they have one, else their profile's."""
    try:
        tz = person.provider_profile.tzinfo
    except ProviderProfile.DoesNotExist:
        profile = getattr(person, "profile", None)
        tz = profile.tzinfo if profile is not None else UTC
    local = moment.astimezone(tz)
    return f"{local:%a %d %b %Y, %H:%M} ({local.tzname()})"


def _data(appointment: Appointment, **extra) -> dict:
    data = {
        "appointment_id": str(appointment.pk),
        "start_time": appointment.start_time.isoformat(),
        "appointment_type": appointment.appointment_type,
    }
    if appointment.meeting_url:
        data["meeting_url"] = appointment.meeting_url
    return data | extra


def _load(appointment_id) -> Appointment | None:
    appointment = (
        Appointment.objects.select_related(
            "patient__profile", "patient__provider_profile", "provider__profile", "provider__provider_profile"
        )
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        # Deleted between commit and this callback (an account erased at once): nobody left to tell.
        logger.info("appointment_notice_skipped", extra={"appointment_id": str(appointment_id)})
    return appointment


def booking_notice(*, appointment_id) -> None:
    """Tell the provider that a patient booked with them."""
    appointment = _load(appointment_id)
    if appointment is None or appointment.provider is None:
        return
    doctor = appointment.provider
    notify(
        user=doctor,
        category=CATEGORY,
        title="New appointment booked",
        body=f"{appointment.patient.full_name} booked an appointment {TYPE_PHRASES[appointment.appointment_type]} "
        f"on {_local(appointment.start_time, doctor)}.",
        data=_data(appointment, event="booked"),
        dedupe_key=f"appointment:{appointment.pk}:booked",
    )


def cancellation_notice(*, appointment_id) -> None:
    """Tell the other party that the appointment was cancelled (the provider when the patient cancelled)."""
    appointment = _load(appointment_id)
    if appointment is None:
        return
    by_patient = appointment.cancelled_by_id == appointment.patient_id
    recipient = appointment.provider if by_patient else appointment.patient
    if recipient is None:
        # The provider's account is gone: nobody on that side to tell.
        return
    who = appointment.patient.full_name if by_patient else appointment.provider_display_name
    notify(
        user=recipient,
        category=CATEGORY,
        title="Appointment cancelled",
        body=f"{who} cancelled the appointment on {_local(appointment.start_time, recipient)}.",
        data=_data(appointment, event="cancelled"),
        dedupe_key=f"appointment:{appointment.pk}:cancelled",
    )


def series_booking_notice(*, series_id) -> None:
    """Tell the provider once that a patient booked a recurring series (not once per occurrence)."""
    first = (
        Appointment.objects.filter(series_id=series_id)
        .select_related("patient", "provider__profile", "provider__provider_profile")
        .order_by("start_time")
        .first()
    )
    if first is None:
        logger.info("appointment_notice_skipped", extra={"series_id": str(series_id)})
        return
    count = Appointment.objects.filter(series_id=series_id).count()
    doctor = first.provider
    notify(
        user=doctor,
        category=CATEGORY,
        title="Recurring appointments booked",
        body=f"{first.patient.full_name} booked {count} appointments {TYPE_PHRASES[first.appointment_type]}, "
        f"the first on {_local(first.start_time, doctor)}.",
        data=_data(first, event="series_booked", series_id=str(series_id), occurrences=count),
        dedupe_key=f"appointment-series:{series_id}:booked",
    )


def series_cancellation_notice(*, appointment_id, cancelled: int) -> None:
    """Tell the other party once that an occurrence and the CANCELLED - 1 after it were cancelled."""
    appointment = _load(appointment_id)
    if appointment is None:
        return
    if cancelled <= 1:
        cancellation_notice(appointment_id=appointment_id)
        return
    by_patient = appointment.cancelled_by_id == appointment.patient_id
    recipient = appointment.provider if by_patient else appointment.patient
    who = appointment.patient.full_name if by_patient else appointment.provider.full_name
    notify(
        user=recipient,
        category=CATEGORY,
        title="Recurring appointments cancelled",
        body=f"{who} cancelled {cancelled} appointments, from {_local(appointment.start_time, recipient)} on.",
        data=_data(appointment, event="series_cancelled", series_id=str(appointment.series_id), cancelled=cancelled),
        dedupe_key=f"appointment:{appointment.pk}:cancelled",
    )


def reschedule_notice(*, appointment_id, reschedule_id) -> None:
    """Tell the other party that the appointment moved."""
    appointment = _load(appointment_id)
    if appointment is None:
        return
    move = appointment.reschedules.filter(pk=reschedule_id).first()
    if move is None:
        return
    by_patient = move.rescheduled_by_id == appointment.patient_id
    recipient = appointment.provider if by_patient else appointment.patient
    if recipient is None:
        return
    who = appointment.patient.full_name if by_patient else appointment.provider_display_name
    notify(
        user=recipient,
        category=CATEGORY,
        title="Appointment rescheduled",
        body=f"{who} moved the appointment of {_local(move.previous_start_time, recipient)} "
        f"to {_local(move.new_start_time, recipient)}.",
        data=_data(appointment, event="rescheduled", previous_start_time=move.previous_start_time.isoformat()),
        dedupe_key=f"appointment:{appointment.pk}:rescheduled:{move.pk}",
    )


def reminder_notice(*, appointment: Appointment, offset_hours: int) -> None:
    """Remind the patient of APPOINTMENT; one per (appointment, offset, start time) thanks to the dedupe key."""
    patient = appointment.patient
    when = _local(appointment.start_time, patient)
    how = TYPE_PHRASES[appointment.appointment_type]
    notify(
        user=patient,
        category=CATEGORY,
        title="Appointment reminder",
        body=f"Your appointment with {appointment.provider_display_name} ({how}) is on {when}.",
        data=_data(appointment, event="reminder", offset_hours=offset_hours),
        dedupe_key=f"appointment:{appointment.pk}:reminder:{offset_hours}h:{appointment.start_time.isoformat()}",
    )


def provider_gone_notice(*, appointment_id) -> None:
    """Tell the patient that an upcoming appointment was cancelled because the provider's account was closed."""
    appointment = _load(appointment_id)
    if appointment is None:
        return
    patient = appointment.patient
    notify(
        user=patient,
        category=CATEGORY,
        title="Appointment cancelled",
        body=f"Your appointment with {appointment.provider_display_name or 'your provider'} on "
        f"{_local(appointment.start_time, patient)} was cancelled: the provider no longer offers appointments here.",
        data=_data(appointment, event="cancelled"),
        dedupe_key=f"appointment:{appointment.pk}:cancelled",
    )
