"""Alert episodes, what they hold, the person's own thresholds, and how far each metric's readings were judged."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from jeghealth_backend.metric_catalog import METRIC_TYPE_CHOICES

from .choices import CloseReason, EpisodeStatus, Rule, Severity

BLOOD_PRESSURE = "blood_pressure"


class AlertEpisode(models.Model):
    """A run of signals of one rule for one person and one metric (or one device, or one regimen).

    It opens with the first qualifying signal and collects the later ones (how many, the worst, the last time); it
    closes when readings are back in range (or the device or dose is fine again), or after a quiet gap. At most one
    episode is live (not closed) per (person, rule, metric type, subject), which the database enforces: that is what
    makes "one notification per episode" hold under concurrency. The person is told when it opens and again only
    when its severity rises (`notified_severity`).

    A critical episode carries its schedule in the row, so that beat finds the due work in the database: reminders
    at `next_reminder_at` (`reminders_sent` of at most 3), and one escalation once `critical_since` is
    ALERT_ESCALATION_MINUTES old without acknowledgement (`escalated_at` is the claim). An acknowledgement stops
    both.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_episodes")
    rule = models.CharField(max_length=24, choices=Rule.choices)
    # "" for the device and dose rules, which have no metric type (answered as null).
    metric_type = models.CharField(max_length=32, blank=True, default="")
    # What else keys the episode: the device or the regimen it is about; "" for the reading rules.
    subject_key = models.CharField(max_length=64, blank=True, default="")
    subject_label = models.CharField(max_length=120, blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    notified_severity = models.CharField(max_length=16, choices=Severity.choices, blank=True, default="")
    status = models.CharField(max_length=16, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=24, choices=CloseReason.choices, blank=True, default="")
    reading_count = models.PositiveIntegerField(default=0)
    # The reading furthest out, as it was then (it stays readable if the reading is deleted): id, values, unit, time.
    worst = models.JSONField(null=True, blank=True)
    worst_score = models.FloatField(null=True, blank=True)
    last_reading_at = models.DateTimeField(null=True, blank=True)
    # The time of the latest signal (a reading's recorded_at, a device's or dose's time): the quiet gap runs from it.
    last_signal_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who acknowledged, as named then: it stays when that account is deleted.
    acknowledged_by_name = models.CharField(max_length=300, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    critical_since = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "rule", "metric_type", "subject_key"],
                condition=Q(closed_at__isnull=True),
                name="alert_episode_one_live_per_key",
            ),
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="alert_episode_rule_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="alert_episode_severity_valid"),
            models.CheckConstraint(
                condition=Q(status=EpisodeStatus.CLOSED, closed_at__isnull=False)
                | (~Q(status=EpisodeStatus.CLOSED) & Q(closed_at__isnull=True)),
                name="alert_episode_closed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-opened_at"], name="alert_episode_user_opened"),
            # Beat's scan for due reminders and escalations: only live critical episodes are indexed.
            models.Index(
                fields=["next_reminder_at"],
                condition=Q(status=EpisodeStatus.OPEN, severity=Severity.CRITICAL),
                name="alert_episode_due_reminder",
            ),
            models.Index(
                fields=["critical_since"],
                condition=Q(status=EpisodeStatus.OPEN, severity=Severity.CRITICAL, escalated_at__isnull=True),
                name="alert_episode_due_escalation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} episode {self.id} of {self.user_id} ({self.status})"


class EpisodeReading(models.Model):
    """A reading an episode holds. A reading id, not a foreign key: alerts sits below health metrics."""

    episode = models.ForeignKey(AlertEpisode, on_delete=models.CASCADE, related_name="reading_links")
    reading_id = models.UUIDField()
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["episode", "reading_id"], name="alert_episode_reading_unique"),
        ]
        indexes = [
            models.Index(fields=["episode", "-recorded_at"], name="alert_episode_reading_recent"),
            models.Index(fields=["reading_id"], name="alert_episode_reading_id"),
        ]

    def __str__(self) -> str:
        return f"reading {self.reading_id} of episode {self.episode_id}"


class MetricCursor(models.Model):
    """How far one person's readings of one metric type were judged by the episode rules.

    A reading recorded at or before `judged_until` no longer moves episodes: a late upload of an old crossing
    never alerts after later readings were back in range, and a redelivered judgement changes nothing. Locking
    these rows serialises two judgements of the same person's readings (two uploads at once).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    judged_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "metric_type"], name="alert_cursor_user_metric")]

    def __str__(self) -> str:
        return f"{self.metric_type} cursor of {self.user_id}"


class AlertThreshold(models.Model):
    """A person's limit for one metric: a reading below `min_value` or above `max_value` crosses it.

    Values are in the metric's canonical unit. For blood pressure `min_value`/`max_value` bound the systolic
    value and the optional `diastolic_min_value`/`diastolic_max_value` the diastolic one. At least one bound is
    set and a minimum is below its maximum. One threshold per (person, metric, severity).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_thresholds")
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    diastolic_min_value = models.FloatField(null=True, blank=True)
    diastolic_max_value = models.FloatField(null=True, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "metric_type", "severity"], name="alert_threshold_user_metric_severity_unique"
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=False)
                | Q(max_value__isnull=False)
                | Q(diastolic_min_value__isnull=False)
                | Q(diastolic_max_value__isnull=False),
                name="alert_threshold_has_bound",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True) | Q(max_value__isnull=True) | Q(min_value__lt=F("max_value")),
                name="alert_threshold_min_below_max",
            ),
            models.CheckConstraint(
                condition=Q(diastolic_min_value__isnull=True)
                | Q(diastolic_max_value__isnull=True)
                | Q(diastolic_min_value__lt=F("diastolic_max_value")),
                name="alert_threshold_diastolic_min_below_max",
            ),
            models.CheckConstraint(
                condition=Q(metric_type=BLOOD_PRESSURE)
                | Q(diastolic_min_value__isnull=True, diastolic_max_value__isnull=True),
                name="alert_threshold_diastolic_only_bp",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} {self.metric_type} threshold {self.id}"
