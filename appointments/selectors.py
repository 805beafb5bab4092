"""Reads of appointments and providers, already scoped to the acting person.

A person sees the appointments they are the patient or the provider of. A doctor acting on a patient through
`?patient=` (resolved by `accounts.access.subject_for`) sees that patient's appointments. Anything else is
invisible, so the views answer 404 for it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import User

from .choices import ACTIVE_STATUSES, AppointmentStatus, AppointmentType, ParticipantRole
from .models import Appointment, AppointmentReschedule, CalendarFeed, ProviderProfile
from .scheduling import BOOKING_HORIZON_DAYS, Span, free_slots, working_spans


def doctors_queryset() -> QuerySet[User]:
    """Active people holding the `doctor` role, with their provider profile (if created) in the same query."""
    return (
        User.objects.filter(is_active=True, user_roles__role__name="doctor")
        .select_related("provider_profile", "profile")
        .order_by("last_name", "first_name", "id")
    )


def provider_get(*, provider_id) -> User | None:
    """The doctor whose user id is PROVIDER_ID, or None (not a doctor, inactive, unknown)."""
    return doctors_queryset().filter(pk=provider_id).first()


def provider_profile_for(doctor: User) -> ProviderProfile:
    """DOCTOR's provider profile; before the first write, an unsaved one with the defaults.

    The default time zone is the one of the doctor's own profile, so a new provider's hours are local to them.
    """
    try:
        return doctor.provider_profile
    except ProviderProfile.DoesNotExist:
        personal = getattr(doctor, "profile", None)
        return ProviderProfile(doctor=doctor, timezone=getattr(personal, "timezone", "") or "UTC")


def provider_busy_spans(*, provider: User, start: datetime, end: datetime) -> list[Span]:
    """The active appointments of PROVIDER overlapping [start, end), as spans."""
    rows = (
        Appointment.objects.filter(
            provider=provider, status__in=ACTIVE_STATUSES, start_time__lt=end, end_time__gt=start
        )
        .order_by("start_time")
        .values_list("start_time", "end_time")
    )
    return [Span(s, e) for s, e in rows]


def provider_working_spans(*, profile: ProviderProfile, day: date) -> list[Span]:
    return working_spans(
        working_hours=profile.working_hours, days_off=profile.days_off or [], tz=profile.tzinfo, day=day
    )


def provider_free_slots(*, provider: User, day: date, now: datetime) -> list[Span]:
    """The free slots of the provider's local calendar DAY: working hours minus days off, active appointments
    and the past, on a grid of the consultation length. None before today or beyond the booking horizon."""
    profile = provider_profile_for(provider)
    today = now.astimezone(profile.tzinfo).date()
    if not today <= day <= today + timedelta(days=BOOKING_HORIZON_DAYS):
        return []
    working = provider_working_spans(profile=profile, day=day)
    if not working:
        return []
    busy = provider_busy_spans(provider=provider, start=working[0].start, end=working[-1].end)
    return free_slots(
        working=working, busy=busy, length=timedelta(minutes=profile.consultation_minutes), not_before=now
    )


def appointment_queryset() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("patient", "provider", "provider__provider_profile").prefetch_related(
        Prefetch("reschedules", queryset=AppointmentReschedule.objects.order_by("created_at"))
    )


def appointments_visible_to(*, user: User, subject: User, role: str | None = None) -> QuerySet[Appointment]:
    """The appointments USER may see, acting on SUBJECT's data.

    For oneself: those one is the patient of and those one is the provider of (ROLE narrows it to one side).
    For a patient one holds an `appointments` grant of: that patient's appointments, with any provider.
    """
    queryset = appointment_queryset()
    if subject.pk != user.pk:
        return queryset.filter(patient=subject)
    if role == ParticipantRole.PATIENT:
        return queryset.filter(patient=user)
    if role == ParticipantRole.PROVIDER:
        return queryset.filter(provider=user)
    return queryset.filter(Q(patient=user) | Q(provider=user))


def appointment_statistics(*, queryset: QuerySet[Appointment], now: datetime) -> dict:
    """Counts by status and type, upcoming, and the rates of completion, no-show and cancellation.

    completion_rate = completed ÷ (completed + no_show), no_show_rate = no_show ÷ (completed + no_show),
    cancellation_rate = cancelled ÷ all; each a fraction from 0 to 1, or null when its denominator is 0.
    """
    aggregates = {f"status_{value}": Count("id", filter=Q(status=value)) for value in AppointmentStatus.values}
    aggregates |= {f"type_{value}": Count("id", filter=Q(appointment_type=value)) for value in AppointmentType.values}
    aggregates["upcoming"] = Count("id", filter=Q(status__in=ACTIVE_STATUSES, start_time__gt=now))
    aggregates["total"] = Count("id")
    row = queryset.order_by().aggregate(**aggregates)
    by_status = {value: row[f"status_{value}"] for value in AppointmentStatus.values}
    attended = by_status[AppointmentStatus.COMPLETED] + by_status[AppointmentStatus.NO_SHOW]
    total = row["total"]
    return {
        "total": total,
        "by_status": by_status,
        "by_type": {value: row[f"type_{value}"] for value in AppointmentType.values},
        "upcoming": row["upcoming"],
        "completion_rate": _rate(by_status[AppointmentStatus.COMPLETED], attended),
        "no_show_rate": _rate(by_status[AppointmentStatus.NO_SHOW], attended),
        "cancellation_rate": _rate(by_status[AppointmentStatus.CANCELLED], total),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def calendar_feed_get(*, token_hash: str) -> CalendarFeed | None:
    return CalendarFeed.objects.select_related("user").filter(token_hash=token_hash, user__is_active=True).first()


def calendar_feed_appointments(*, user: User, now: datetime, limit: int = 500) -> QuerySet[Appointment]:
    """USER's upcoming active appointments, as patient and as provider, for the calendar feed."""
    return (
        Appointment.objects.filter(Q(patient=user) | Q(provider=user), status__in=ACTIVE_STATUSES, end_time__gt=now)
        .select_related("patient", "provider", "provider__provider_profile")
        .annotate(reschedule_count=Count("reschedules"))
        .order_by("start_time")[:limit]
    )
