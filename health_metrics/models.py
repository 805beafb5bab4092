"""Readings, targets and summary rollups.

`HealthMetric` is also written by IoT ingestion with raw SQL (`INSERT … SELECT unnest(…) ON CONFLICT DO
NOTHING`): its columns are a contract with that code. Every column has a Python-side default and none a
database default (PERFORMANCE.md: per-row SQL defaults halve bulk insert speed), so the raw insert names them
all.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jeghealth_backend.encryption import EncryptedTextField
from jeghealth_backend.metric_catalog import METRIC_TYPE_CHOICES


class Source(models.TextChoices):
    MANUAL = "manual", "Manual entry"
    DEVICE = "device", "Device"
    IMPORT = "import", "Import"


# `source_name` of a reading typed in by the person (and the source key of manual entry, arbitration.py).
MANUAL_SOURCE_NAME = "manual"


class Quality(models.TextChoices):
    OK = "ok", "OK"
    SUSPECT = "suspect", "Suspect"


class Period(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class DayBasis(models.TextChoices):
    """Whose calendar a summary's days are of: the profile timezone's, or each reading's own local date."""

    PROFILE = "profile", "The profile timezone's calendar"
    RECORDED = "recorded", "Each reading's own local date"


class TargetType(models.TextChoices):
    MINIMUM = "minimum", "At least"
    MAXIMUM = "maximum", "At most"
    RANGE = "range", "Between"


class HealthMetric(models.Model):
    """One reading of one person, in the canonical unit of its type (the metric catalog), with the value as entered.

    Invariants held by the database: a blood pressure reading has systolic and diastolic and no value, every
    other type a value and neither of the two (the check cannot know the type, so it holds the shape);
    systolic above diastolic; one reading per device, type and time. One reading per person and
    `client_record_id` (offline sync) is held by `ClientRecordKey`: on PostgreSQL this table is range-partitioned
    by month on `recorded_at` (partitions.py), and a unique key of a partitioned table must hold `recorded_at`.
    Suspect readings (`quality`) are kept but left out of summaries and targets.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The (user, metric_type, recorded_at) index serves every lookup by user: no separate FK index. No database
    # constraint either, on this and `device`: a foreign key costs every inserted row two checks, about half of
    # what storing a reading costs (bench/README.md). The guarantee is kept by the services instead: every insert
    # locks the person's (and device's) row once per transaction (storage.lock_owners), every deletion of a person
    # or device locks its row first, Django's deletion still cascades (or sets null), and a weekly task repairs
    # what a deletion outside those paths could leave (`health_metrics.check_references`).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="health_metrics",
        db_index=False,
        db_constraint=False,
    )
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    value = models.FloatField(null=True, blank=True)
    systolic_value = models.FloatField(null=True, blank=True)
    diastolic_value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=16)
    entered_value = models.FloatField(null=True, blank=True)
    entered_unit = models.CharField(max_length=16, blank=True)
    recorded_at = models.DateTimeField()
    # The UTC offset `recorded_at` was sent with: the reading's own local time (summary `day_basis=recorded`).
    recorded_offset_minutes = models.SmallIntegerField(default=0)
    # Cumulative types (steps, calories, sleep) may cover an interval from `recorded_at` to `ended_at`.
    ended_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    # Who wrote it: the device's name, the importing app's or device's `sourceName`, or `manual`.
    source_name = models.CharField(max_length=128, blank=True, default=MANUAL_SOURCE_NAME)
    # The unique (device, metric_type, recorded_at) key serves lookups by device: no separate FK index.
    device = models.ForeignKey(
        "iot_devices.IoTDevice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="health_metrics",
        db_index=False,
        db_constraint=False,
    )
    device_data_batch_id = models.UUIDField(null=True, blank=True)
    is_manual_entry = models.BooleanField(default=True)
    notes = EncryptedTextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    quality = models.CharField(max_length=8, choices=Quality.choices, default=Quality.OK)
    is_anomaly = models.BooleanField(default=False)
    anomaly_reason = models.CharField(max_length=255, blank=True, default="")
    client_record_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "metric_type", "recorded_at"], name="health_metric_device_type_time_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(value__isnull=False, systolic_value__isnull=True, diastolic_value__isnull=True)
                    | Q(value__isnull=True, systolic_value__isnull=False, diastolic_value__isnull=False)
                ),
                name="health_metric_value_shape",
            ),
            models.CheckConstraint(
                condition=Q(systolic_value__isnull=True) | Q(systolic_value__gt=models.F("diastolic_value")),
                name="health_metric_systolic_above_diastolic",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("recorded_at")),
                name="health_metric_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "metric_type", "recorded_at"], name="health_metric_user_type_time"),
            # The reading list, newest first across types.
            models.Index(fields=["user", "recorded_at"], name="health_metric_user_time"),
            # Anomalies are few: a partial index keeps their list cheap and costs inserts almost nothing.
            models.Index(
                fields=["user", "recorded_at"], name="health_metric_user_anomaly", condition=Q(is_anomaly=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_type} of {self.user_id} at {self.recorded_at:%Y-%m-%d %H:%M}"


class ClientRecordKey(models.Model):
    """The offline-sync key: one reading per person and `client_record_id` (a UUID the app made offline).

    A table of its own because the readings table is partitioned on PostgreSQL and cannot hold a unique key
    without `recorded_at`. Manual entry claims the key first (`INSERT … ON CONFLICT DO NOTHING`, storage.py) in
    the transaction that stores the reading: a racing replay waits on the key's unique index and then finds it
    taken. `reading_id` has no foreign key (the readings' primary key is (id, recorded_at) on PostgreSQL); a key
    whose reading was deleted is freed by the next claim (storage._with_claimed_keys).
    """

    # The key is the primary key: no other index for inserts to pay.
    pk = models.CompositePrimaryKey("user_id", "client_record_id")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    client_record_id = models.UUIDField()
    reading_id = models.UUIDField()

    def __str__(self) -> str:
        return f"client record {self.client_record_id} of {self.user_id}"


class HealthMetricTarget(models.Model):
    """A person's goal for one metric over daily, weekly or monthly periods of their own calendar.

    `minimum`/`maximum` use `target_value`; `range` uses `min_value` and `max_value`. Blood pressure targets
    apply to the systolic value. Progress: services.target_progress.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="health_targets")
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    target_type = models.CharField(max_length=8, choices=TargetType.choices)
    target_value = models.FloatField(null=True, blank=True)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.DAILY)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(target_type="range", min_value__isnull=False, max_value__isnull=False, target_value__isnull=True)
                    & Q(min_value__lte=models.F("max_value"))
                )
                | Q(
                    target_type__in=["minimum", "maximum"],
                    target_value__isnull=False,
                    min_value__isnull=True,
                    max_value__isnull=True,
                ),
                name="health_target_values_match_type",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="health_target_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["user", "metric_type"], name="health_target_user_type")]

    def __str__(self) -> str:
        return f"{self.target_type} {self.metric_type} {self.period} target of {self.user_id}"


class HealthMetricSummary(models.Model):
    """A rollup: one bucket (day, ISO week from Monday, month) of one person's readings of one type.

    Buckets are calendar periods in `tz_name`, the person's profile timezone when the rollup was computed;
    a rollup in another timezone than the profile's is stale and not used. Suspect readings are left out.
    Blood pressure fills the `systolic_*`/`diastolic_*` columns, every other type `min`, `max`, `sum`.
    Kept current by tasks after every write and reconciled nightly (summaries.py); never edited by hand.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    period = models.CharField(max_length=8, choices=Period.choices)
    period_start = models.DateField()
    tz_name = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    min = models.FloatField(null=True, blank=True)
    max = models.FloatField(null=True, blank=True)
    sum = models.FloatField(null=True, blank=True)
    systolic_min = models.FloatField(null=True, blank=True)
    systolic_max = models.FloatField(null=True, blank=True)
    systolic_sum = models.FloatField(null=True, blank=True)
    diastolic_min = models.FloatField(null=True, blank=True)
    diastolic_max = models.FloatField(null=True, blank=True)
    diastolic_sum = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "health metric summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "metric_type", "period", "period_start"], name="health_summary_bucket_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.metric_type} of {self.user_id} from {self.period_start}"


class PendingRollup(models.Model):
    """A range of one person's readings of one type written since its rollups were last refreshed.

    `metrics_changed` adds it in the writer's transaction; the refresh task deletes it once the buckets are
    recomputed. While one overlaps a summary request, the summary aggregates readings directly instead of
    trusting rollups, so a write is visible in the next read even before the worker has run.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "metric_type", "start"], name="health_pending_rollup_lookup")]

    def __str__(self) -> str:
        return f"pending {self.metric_type} rollup of {self.user_id}"


class PendingAnomalyCheck(models.Model):
    """Readings whose anomaly detection has not run yet.

    `metrics_changed` adds it in the writer's transaction, so it exists exactly when the readings do; the task
    deletes it after detection. If the broker was down or the task was lost, the beat sweep finds it and runs
    detection then: no stored reading escapes detection. Detection is idempotent, so running twice is harmless.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reading_ids = models.JSONField(default=list)
    # Or, for IoT ingestion, the readings one device batch stored (`HealthMetric.device_data_batch_id`, our batch
    # row's id), recorded in this range: one row per batch instead of thousands of ids, found through the
    # (user, recorded_at) index.
    batch_id = models.UUIDField(null=True, blank=True)
    recorded_from = models.DateTimeField(null=True, blank=True)
    recorded_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(batch_id__isnull=True)
                | models.Q(recorded_from__isnull=False, recorded_to__isnull=False),
                name="health_pending_check_batch_range",
            )
        ]

    def __str__(self) -> str:
        return f"pending anomaly check of {self.user_id}"


class SourcePriority(models.Model):
    """A person's order of belief in the sources of one metric type (`source-priority/`), best first.

    Keys are `device:<device id>`, `import:<source name>` and `manual` (arbitration.source_key). Sources the
    list does not name follow it in the default order (arbitration.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric_type = models.CharField(max_length=32, choices=METRIC_TYPE_CHOICES)
    sources = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "source priorities"
        constraints = [
            models.UniqueConstraint(fields=["user", "metric_type"], name="health_source_priority_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.metric_type} source priority of {self.user_id}"


class ChangeOp(models.TextChoices):
    UPSERT = "upsert", "A reading stored or changed"
    DELETE = "delete", "A reading deleted"
    BATCH = "batch", "The readings one write stored (by batch id, recorded in a range)"


class ReadingChange(models.Model):
    """One entry of a person's changes feed (`changes/`, sync.py), in the writing transaction.

    A reading stored or changed by a person is one `upsert` row (an earlier one of the same reading is
    dropped); a device batch or an import chunk is one `batch` row naming its readings by `batch_id` and time
    range, expanded when read; a deletion is a `delete` row (a tombstone), kept 30 days."""

    seq = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    op = models.CharField(max_length=8, choices=ChangeOp.choices)
    reading_id = models.UUIDField(null=True, blank=True)
    batch_id = models.UUIDField(null=True, blank=True)
    recorded_from = models.DateTimeField(null=True, blank=True)
    recorded_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "seq"], name="health_change_feed"),
            models.Index(fields=["user", "reading_id"], name="health_change_reading"),
            models.Index(fields=["created_at"], name="health_change_age", condition=Q(op="delete")),
        ]

    def __str__(self) -> str:
        return f"{self.op} {self.seq} of {self.user_id}"


class ImportFormat(models.TextChoices):
    APPLE_HEALTH = "apple_health", "Apple Health export (export.zip or export.xml)"
    FHIR = "fhir", "FHIR R4 Bundle of Observations"
    HEALTH_CONNECT = "health_connect", "Health Connect JSON"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One uploaded file of a person's history, imported by a worker (health_metrics/imports/).

    The upload waits on the report storage under `file_name` until the import ends, and is deleted then.
    `errors` lists at most 100 refused records (`position`, `code`, `message`); `error` says why a whole file
    failed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    format = models.CharField(max_length=16, choices=ImportFormat.choices)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    file_name = models.CharField(max_length=255, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    counts_by_type = models.JSONField(default=dict)
    errors = models.JSONField(default=list)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The run's progress and lease (imports/run.py): records of the file consumed by committed chunks, the
    # running delivery's token and when its lease runs out, and how many deliveries claimed it.
    processed_count = models.PositiveIntegerField(default=0)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="health_import_user_created"),
            # The sweeper's question: which unfinished imports does no worker hold?
            models.Index(
                fields=["created_at"],
                name="health_import_unfinished",
                condition=models.Q(status__in=[ImportStatus.PENDING, ImportStatus.RUNNING]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.format} import {self.id} of {self.user_id}"
