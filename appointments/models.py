"""Provider profiles, appointments and their history, reminder claims and calendar feeds.

The invariants live in the database: an appointment ends after it starts, and on PostgreSQL no two active
(scheduled or confirmed) appointments of one provider, or of one patient, overlap in time (see constraints.py).
"""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import validate_timezone
from jeghealth_backend.encryption import EncryptedTextField

from .choices import ACTIVE_STATUSES, AppointmentStatus, AppointmentType
from .constraints import PostgresExclusionConstraint, TsTzRange
from .scheduling import (
    DEFAULT_CONSULTATION_MINUTES,
    DEFAULT_WORKING_HOURS,
    validate_days_off,
    validate_working_hours,
)

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 480
# A user's full name: first and last name of 150 characters each, and the space between them.
PROVIDER_NAME_MAX_LENGTH = 301


def default_working_hours() -> list[dict]:
    return [dict(entry) for entry in DEFAULT_WORKING_HOURS]


class ProviderProfile(models.Model):
    """A doctor's practice: specialty, clinic, consultation length, weekly working hours and days off.

    One per doctor, keyed by the doctor's user id, which is also the provider id of the API. Created on the
    doctor's first visit to `providers/me/` or the first booking with them; until then the defaults apply.
    `working_hours` are wall-clock times in `timezone`; `days_off` are dates of that zone's calendar.
    """

    doctor = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="provider_profile"
    )
    specialty = models.CharField(max_length=120, blank=True)
    clinic_name = models.CharField(max_length=200, blank=True)
    clinic_address = models.CharField(max_length=500, blank=True)
    consultation_minutes = models.PositiveSmallIntegerField(
        default=DEFAULT_CONSULTATION_MINUTES,
        validators=[MinValueValidator(MIN_DURATION_MINUTES), MaxValueValidator(MAX_DURATION_MINUTES)],
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    working_hours = models.JSONField(default=default_working_hours, validators=[validate_working_hours])
    days_off = models.JSONField(default=list, blank=True, validators=[validate_days_off])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(consultation_minutes__gte=MIN_DURATION_MINUTES)
                & Q(consultation_minutes__lte=MAX_DURATION_MINUTES),
                name="appt_provider_consultation_range",
            )
        ]

    def __str__(self) -> str:
        return f"Provider profile of {self.doctor_id}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or "UTC")


class AppointmentSeries(models.Model):
    """A recurring booking: the RRULE it was made from and the zone whose wall clock its occurrences keep.

    Each occurrence is an ordinary Appointment pointing here, booked with the same rules as a single one and in
    the same transaction as all the others (appointments/series.py). Cancelling "this and following" acts on the
    occurrences from one start on; the rows of the others are untouched.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appointment_series")
    recurrence = models.CharField(max_length=500)
    tz_name = models.CharField(max_length=64, validators=[validate_timezone])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "appointment series"

    def __str__(self) -> str:
        return f"series {self.id}"


class Appointment(models.Model):
    """A patient's booking with a provider (a doctor) for [start_time, end_time).

    Status moves `scheduled → confirmed → completed | no_show`, and `scheduled | confirmed → cancelled`, only
    through the services, which lock the row. `slot_booked_at` is when the current start time was chosen
    (booking or last reschedule): reminders that fell due before it are not sent.

    An appointment is the patient's record and outlives its provider: deleting the provider's account sets
    `provider` to NULL and keeps `provider_name`, the name written at booking and again just before the
    deletion (`appointments.erasure`), which also cancels the provider's upcoming appointments.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appointments")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments_as_provider",
    )
    provider_name = models.CharField(max_length=PROVIDER_NAME_MAX_LENGTH, blank=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    appointment_type = models.CharField(max_length=16, choices=AppointmentType.choices)
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED)
    reason = EncryptedTextField(blank=True)
    notes = EncryptedTextField(blank=True)
    meeting_url = models.URLField(max_length=500, blank=True)
    cancellation_reason = EncryptedTextField(blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    slot_booked_at = models.DateTimeField(default=timezone.now)
    # The recurring booking this is an occurrence of; null for a single booking.
    series = models.ForeignKey(
        AppointmentSeries, on_delete=models.SET_NULL, null=True, blank=True, related_name="occurrences"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="appt_ends_after_start"),
            models.CheckConstraint(condition=Q(status__in=AppointmentStatus.values), name="appt_status_valid"),
            models.CheckConstraint(condition=Q(appointment_type__in=AppointmentType.values), name="appt_type_valid"),
            models.CheckConstraint(condition=~Q(patient=F("provider")), name="appt_not_with_oneself"),
            PostgresExclusionConstraint(
                name="appt_provider_no_overlap",
                expressions=[
                    ("provider", RangeOperators.EQUAL),
                    (TsTzRange("start_time", "end_time", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=ACTIVE_STATUSES),
                violation_error_message="The provider already has an appointment at that time.",
            ),
            PostgresExclusionConstraint(
                name="appt_patient_no_overlap",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    (TsTzRange("start_time", "end_time", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=ACTIVE_STATUSES),
                violation_error_message="The patient already has an appointment at that time.",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "start_time"], name="appt_provider_start_idx"),
            models.Index(fields=["patient", "start_time"], name="appt_patient_start_idx"),
            models.Index(fields=["status", "start_time"], name="appt_status_start_idx"),
            models.Index(fields=["series", "start_time"], name="appt_series_start_idx"),
        ]

    def __str__(self) -> str:
        return f"appointment {self.id} ({self.status})"

    @property
    def provider_display_name(self) -> str:
        """The provider's name now, or as it was when their account was deleted."""
        return self.provider.full_name if self.provider is not None else self.provider_name

    @property
    def duration_minutes(self) -> int:
        return int((self.end_time - self.start_time).total_seconds() // 60)


class AppointmentReschedule(models.Model):
    """One move of an appointment: the times before and after, who moved it and when. Never changed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reschedules")
    previous_start_time = models.DateTimeField()
    previous_end_time = models.DateTimeField()
    new_start_time = models.DateTimeField()
    new_end_time = models.DateTimeField()
    rescheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["appointment", "created_at"], name="appt_resched_appt_idx")]

    def __str__(self) -> str:
        return f"reschedule of {self.appointment_id} at {self.created_at:%Y-%m-%d %H:%M}"


class AppointmentReminder(models.Model):
    """The claim of one reminder: (appointment, offset, the start time it announces) is sent at most once.

    Inserted in the same transaction as the notification it sends, so a crash leaves neither and the next
    run sends it; a second run (or a second beat) hits the unique constraint and skips it. A rescheduled
    appointment has a new start time, hence fresh reminders.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    offset_hours = models.PositiveSmallIntegerField()
    start_time = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "offset_hours", "start_time"], name="appt_reminder_once_per_offset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.offset_hours}h reminder of {self.appointment_id}"


class CalendarFeed(models.Model):
    """A person's secret iCalendar feed: the token's SHA-256 finds it; the token itself is kept encrypted so
    that `calendar/` can show the same URL again. Rotating replaces the token; deleting the row revokes it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"
