"""The iCalendar (RFC 5545) document of a person's upcoming appointments, for calendar apps to subscribe to.

A feed is read by third parties (Google, Apple, Outlook) on the person's behalf, so it carries what a calendar
needs and nothing clinical: who, when, where or how to join. Never the reason for the visit or notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from accounts.models import User

from .choices import AppointmentStatus, AppointmentType
from .models import Appointment

PRODID = "-//JEGHealth//Appointments//EN"
TYPE_LABELS = {
    AppointmentType.IN_PERSON: "In person",
    AppointmentType.TELEMEDICINE: "Video consultation",
    AppointmentType.PHONE: "Phone consultation",
}


def _event(appointment: Appointment, *, user: User, now: datetime) -> Event:
    as_patient = appointment.patient_id == user.pk
    other_name = appointment.provider_display_name if as_patient else appointment.patient.full_name
    profile = getattr(appointment.provider, "provider_profile", None)
    event = Event()
    event.add("uid", f"{appointment.pk}@jeghealth")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start_time)
    event.add("dtend", appointment.end_time)
    event.add("summary", f"Appointment with {other_name}")
    event.add("last-modified", appointment.updated_at)
    # SEQUENCE tells clients an event changed: each reschedule is a new revision.
    event.add("sequence", getattr(appointment, "reschedule_count", 0))
    confirmed = appointment.status == AppointmentStatus.CONFIRMED
    event.add("status", "CONFIRMED" if confirmed else "TENTATIVE")
    lines = [TYPE_LABELS[appointment.appointment_type]]
    if appointment.appointment_type == AppointmentType.TELEMEDICINE and appointment.meeting_url:
        event.add("url", appointment.meeting_url)
        event.add("location", appointment.meeting_url)
        lines.append(f"Join: {appointment.meeting_url}")
    elif appointment.appointment_type == AppointmentType.IN_PERSON and profile is not None:
        place = ", ".join(part for part in (profile.clinic_name, profile.clinic_address) if part)
        if place:
            event.add("location", place)
    event.add("description", "\n".join(lines))
    return event


def calendar_document(*, user: User, appointments: Iterable[Appointment], now: datetime) -> bytes:
    """The feed of USER (as patient and as provider) holding APPOINTMENTS, as RFC 5545 bytes."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "JEGHealth appointments")
    for appointment in appointments:
        calendar.add_component(_event(appointment, user=user, now=now))
    return calendar.to_ical()
