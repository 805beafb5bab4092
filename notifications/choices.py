from django.db import models


class Category(models.TextChoices):
    """What a notification is about; preferences are kept per category."""

    HEALTH_ALERT = "health_alert", "Health alert"
    MEDICATION_REMINDER = "medication_reminder", "Medication reminder"
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    DEVICE_ALERT = "device_alert", "Device alert"
    SYSTEM = "system", "System"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "E-mail"
    PUSH = "push", "Push"
    # Emergency contacts only: a person's own channels are the three above, each with a preference flag.
    SMS = "sms", "SMS"


# The channels that reach the recipient themselves (by their preferences), and those that reach a contact.
PERSON_CHANNELS = (Channel.IN_APP, Channel.EMAIL, Channel.PUSH)
CONTACT_CHANNELS = (Channel.EMAIL, Channel.SMS)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    WEB = "web", "Web"
