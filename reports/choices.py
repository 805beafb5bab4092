from django.db import models


class ReportType(models.TextChoices):
    HEALTH_SUMMARY = "health_summary", "Health summary"


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"


class ReportStatus(models.TextChoices):
    """`pending → running → ready | failed`; a `running` report whose worker died goes back through the sweeper."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


UNFINISHED_STATUSES = (ReportStatus.PENDING, ReportStatus.RUNNING)
