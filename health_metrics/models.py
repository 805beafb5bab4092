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


class Quality(models.TextChoices):
    OK = "ok", "OK"
    SUSPECT = "suspect", "Suspect"


class Period(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


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
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
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
    batch_id = models.UUIDField(null=True, blank=True)
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
    whose reading was deleted is freed by the next claim (services._store_manual).
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
    # Or, for IoT ingestion, the readings one device batch stored (`HealthMetric.batch_id`), recorded in this
    # range: one row per batch instead of thousands of ids, found through the (user, recorded_at) index.
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
