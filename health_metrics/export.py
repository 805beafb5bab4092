"""The person's readings and targets for `auth/export/`, read in chunks so a long history streams."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .fields import EXPORT_FIELDS, column
from .models import HealthMetric, HealthMetricTarget

READING_COLUMNS = tuple(column(name) for name in EXPORT_FIELDS)
TARGET_FIELDS = (
    "id",
    "metric_type",
    "target_type",
    "target_value",
    "min_value",
    "max_value",
    "period",
    "start_date",
    "end_date",
    "created_at",
)


def _rows(queryset, fields) -> Iterator[dict]:
    # Model instances (not .values()) so that encrypted notes come back decrypted.
    for obj in queryset.iterator(chunk_size=2000):
        yield {f: (str(v) if f.endswith("id") and v is not None else v) for f in fields for v in [getattr(obj, f)]}


def export_sections(user) -> Iterator[tuple[str, Iterable[dict]]]:
    yield "health_metrics", _rows(HealthMetric.objects.filter(user=user).order_by("recorded_at"), READING_COLUMNS)
    yield (
        "health_metric_targets",
        _rows(HealthMetricTarget.objects.filter(user=user).order_by("created_at"), TARGET_FIELDS),
    )
