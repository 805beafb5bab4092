"""Reads of health metrics, every one scoped by the acting `user`.

Today a person reads only their own data; a doctor reading a patient's (with a live grant) is to be added in
`metric_queryset`/`target_queryset` alone, since every other read starts from them. Out of scope is 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from jeghealth_backend import person_cache
from jeghealth_backend.metric_catalog import CATALOG, METRIC_TYPES

from .arbitration import present_sources
from .models import DayBasis, HealthMetric, HealthMetricTarget, ImportJob, SourcePriority
from .summaries import present_bucket, summary_buckets


def metric_queryset(*, user) -> QuerySet[HealthMetric]:
    """The readings USER may read."""
    return HealthMetric.objects.filter(user=user)


def metric_get(*, user, metric_id) -> HealthMetric:
    return get_object_or_404(metric_queryset(user=user), pk=metric_id)


@dataclass(frozen=True, slots=True)
class BatchReadings:
    """The readings one IoT device batch stored (`HealthMetric.device_data_batch_id` is our batch row's id), all
    recorded between START and END: the range lets the (user, recorded_at) index find them without an index on
    that column, which every device insert would pay for."""

    pk: uuid.UUID
    start: datetime
    end: datetime

    def as_task_arg(self) -> dict[str, str]:
        return {"pk": str(self.pk), "start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_task_arg(cls, arg: dict[str, str]) -> BatchReadings:
        return cls(uuid.UUID(arg["pk"]), datetime.fromisoformat(arg["start"]), datetime.fromisoformat(arg["end"]))


def readings_written(*, user_id, ids: Iterable = (), batch: BatchReadings | None = None) -> QuerySet[HealthMetric]:
    """The readings of USER_ID that one write stored or changed: listed by IDS, or those of a device BATCH."""
    readings = HealthMetric.objects.filter(user_id=user_id)
    if batch is not None:
        return readings.filter(device_data_batch_id=batch.pk, recorded_at__gte=batch.start, recorded_at__lte=batch.end)
    return readings.filter(pk__in=list(ids))


def anomaly_queryset(*, user) -> QuerySet[HealthMetric]:
    """Flagged readings, newest first (a partial index holds just these)."""
    return metric_queryset(user=user).filter(is_anomaly=True).order_by("-recorded_at", "-created_at")


def metric_latest(*, user) -> dict[str, HealthMetric]:
    """The latest reading (by `recorded_at`) of each type that has one, from the cache while nothing changed.

    One query: per type, the newest row found by a backward scan of the (user, type, recorded_at) index,
    which stays a handful of index reads however many readings the person has.
    """

    def compute() -> dict[str, HealthMetric]:
        base = metric_queryset(user=user)
        newest = Q()
        for metric_type in METRIC_TYPES:
            newest |= Q(
                pk__in=base.filter(metric_type=metric_type).order_by("-recorded_at", "-created_at").values("pk")[:1]
            )
        readings = base.filter(newest)
        by_type = {reading.metric_type: reading for reading in readings}
        return {t: by_type[t] for t in METRIC_TYPES if t in by_type}

    return person_cache.cached(user.pk, "latest", (), compute)


def summary_get(
    *, user, metric_type: str, period: str, start_date: date, end_date: date, day_basis: str = DayBasis.PROFILE
) -> dict[str, Any]:
    """The summary answer: buckets of the person's own calendar, from the cache while nothing changed."""
    tz = user.profile.tzinfo
    spec = CATALOG[metric_type]

    def compute() -> dict[str, Any]:
        buckets = summary_buckets(
            user_id=user.pk,
            metric_type=metric_type,
            period=period,
            tz=tz,
            start_date=start_date,
            end_date=end_date,
            day_basis=day_basis,
        )
        return {
            "metric_type": metric_type,
            "period": period,
            "unit": spec.unit,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "timezone": tz.key,
            "day_basis": day_basis,
            "buckets": [present_bucket(spec, day, row) for day, row in buckets.items()],
        }

    return person_cache.cached(
        user.pk, "summary", (metric_type, period, start_date, end_date, tz.key, day_basis), compute
    )


def target_queryset(*, user) -> QuerySet[HealthMetricTarget]:
    return HealthMetricTarget.objects.filter(user=user).order_by("-created_at")


def target_get(*, user, target_id) -> HealthMetricTarget:
    return get_object_or_404(target_queryset(user=user), pk=target_id)


def source_priority_get(*, user) -> dict[str, list[str]]:
    """Per type that has readings or a stored order, the sources in the order arbitration believes them."""
    stored = set(SourcePriority.objects.filter(user=user).values_list("metric_type", flat=True))
    present = set(HealthMetric.objects.filter(user=user).values_list("metric_type", flat=True).distinct().order_by())
    types = [t for t in METRIC_TYPES if t in stored | present]
    by_type = present_sources(user_id=user.pk, metric_types=types)
    return {t: list(by_type[t].order) for t in types}


def import_queryset(*, user) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(user=user).order_by("-created_at")
