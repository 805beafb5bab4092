"""Generated reports: one row per request, the claim that makes generation idempotent, and where the file is."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import ReportFormat, ReportStatus, ReportType


class Report(models.Model):
    """A report of one person's data (`subject`: the owner's, or the patient it names) over [start_date, end_date]
    (local dates of their calendar, both included).

    The row is the outbox and the idempotency key of its generation: a worker claims it with a conditional update
    (`pending → running`, or a `running` row whose lease ran out) and a new `claim_token`; only the holder of the
    token may finish it. The file lives in the default storage under `file_name` (empty until `ready`), so a
    second generation overwrites the same name instead of adding a file. After `expires_at` the row and its file
    are deleted by the periodic purge; until then an expired report already answers 404.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The (user, created_at) index serves every lookup by user: no separate FK index.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports", db_index=False)
    # Whose data: null for the owner's own; a patient when a doctor requested it under a `health_metrics` grant
    # (the report stays the doctor's: only they list and download it).
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_about", null=True, blank=True
    )
    report_type = models.CharField(max_length=32, choices=ReportType.choices, default=ReportType.HEALTH_SUMMARY)
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    start_date = models.DateField()
    end_date = models.DateField()
    # Empty: every metric type that has readings in the range.
    metric_types = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    error = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="reports_status_valid"),
            models.CheckConstraint(condition=Q(format__in=ReportFormat.values), name="reports_format_valid"),
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="reports_end_after_start"),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.READY) | ~Q(file_name=""), name="reports_ready_has_file"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="reports_user_created_idx"),
            # The sweeper looks for unfinished reports only: keep that index small.
            models.Index(
                fields=["status", "created_at"],
                name="reports_unfinished_idx",
                condition=Q(status__in=[ReportStatus.PENDING, ReportStatus.RUNNING]),
            ),
            models.Index(fields=["expires_at"], name="reports_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.report_type} {self.format} report {self.id} ({self.status})"

    @property
    def subject(self):
        """The person whose data the report shows: the patient it names, or its owner."""
        return self.patient if self.patient_id else self.user
