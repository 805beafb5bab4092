from django.db import models


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# The statuses that hold a slot: only these take part in the double-booking constraints and get reminders.
ACTIVE_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


class AppointmentType(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    TELEMEDICINE = "telemedicine", "Telemedicine"
    PHONE = "phone", "Phone"


class ParticipantRole(models.TextChoices):
    """Which side of an appointment the acting person is on (filters and statistics)."""

    PATIENT = "patient", "Patient"
    PROVIDER = "provider", "Provider"


class CancelScope(models.TextChoices):
    """What `cancel/` cancels: the appointment alone, or it and every later occurrence of its series."""

    THIS = "this", "This appointment"
    FOLLOWING = "following", "This and every later occurrence of its series"
