from django.db import models

from notifications.choices import SEVERITY_RANK, Severity

__all__ = ["SEVERITY_RANK", "CloseReason", "EpisodeStatus", "Rule", "Severity"]


class Rule(models.TextChoices):
    """What opened an episode. The first three judge readings, the others a device or a dose."""

    CLINICAL_THRESHOLD = "clinical_threshold", "A clinical threshold of METRICS.md"
    PERSONAL_THRESHOLD = "personal_threshold", "One of the person's own thresholds"
    BASELINE_ANOMALY = "baseline_anomaly", "Unusual for this person (robust z-score)"
    DEVICE_OFFLINE = "device_offline", "A device stopped sending"
    DEVICE_LOW_BATTERY = "device_low_battery", "A device runs low"
    MISSED_DOSE = "missed_dose", "A scheduled dose was not logged"


READING_RULES = (Rule.CLINICAL_THRESHOLD, Rule.PERSONAL_THRESHOLD, Rule.BASELINE_ANOMALY)
DEVICE_RULES = (Rule.DEVICE_OFFLINE, Rule.DEVICE_LOW_BATTERY)


class EpisodeStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"


class CloseReason(models.TextChoices):
    BACK_IN_RANGE = "back_in_range", "A reading back in range"
    QUIET = "quiet", "Nothing new for the quiet gap"
    RESOLVED = "resolved", "The device or the dose is fine again"
    THRESHOLD_CHANGED = "threshold_changed", "The person changed their thresholds"
    DEVICE_REMOVED = "device_removed", "The device was removed"
