"""Source arbitration: where readings of one type from different sources overlap in time, only the most believed
source counts (Apple Health's model). The readings all stay stored and listed; what they count towards —
summaries, rollups, targets, trends, the dashboard and its insights — reads them through `counted`.

A reading's source key is `device:<device id>` (our own paired device), `import:<source name>` (the app or
device that wrote an imported record) or `manual`. Its rank is its key's place in the person's order for the
type (`SourcePriority`, then every other source present in the default order: own devices, manual entry,
imports; within devices and within imports, the source that appeared most recently first).

The rule, in SQL (one NOT EXISTS per reading of a rank below the best): a reading counts unless a reading of the
same person and type, trusted (`quality` ok), of a better rank overlaps it. Two intervals [a, b) and [c, d)
overlap when a < d and c < b; an instant overlaps what starts at the same instant or covers it. The look-up is
bounded by the longest interval of the person's type (at most a day, validation.MAX_INTERVAL), so it stays a
short range scan of the (user, type, recorded_at) index; a type with one source skips arbitration entirely.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from jeghealth_backend import person_cache

from .models import HealthMetric, Quality, Source, SourcePriority

MANUAL_KEY = "manual"
DEVICE_PREFIX = "device:"
IMPORT_PREFIX = "import:"


def source_key(*, source: str, device_id, source_name: str) -> str:
    """The key of a reading's source (as `source-priority/` names it)."""
    if device_id is not None:
        return f"{DEVICE_PREFIX}{device_id}"
    if source == Source.IMPORT:
        return f"{IMPORT_PREFIX}{source_name}"
    if source == Source.MANUAL:
        return MANUAL_KEY
    return f"{DEVICE_PREFIX}"  # a device's reading whose device was deleted: a source of its own


@dataclass(frozen=True, slots=True)
class TypeSources:
    """The sources of one person's type, in rank order, and the longest interval among its readings."""

    order: tuple[str, ...]
    longest: timedelta


def _kind_order(key: str) -> int:
    if key.startswith(DEVICE_PREFIX):
        return 0
    return 1 if key == MANUAL_KEY else 2


def present_sources(*, user_id, metric_types: Iterable[str]) -> dict[str, TypeSources]:
    """Per type of METRIC_TYPES, the sources with readings of USER_ID's type, in the person's order (stored
    order first, then the default): two queries, from the cache while the person's data is unchanged."""
    types = tuple(sorted(set(metric_types)))

    def compute() -> dict[str, TypeSources]:
        span = ExpressionWrapper(F("ended_at") - F("recorded_at"), output_field=DurationField())
        rows = (
            HealthMetric.objects.filter(user_id=user_id, metric_type__in=types)
            .values("metric_type", "source", "device_id", "source_name")
            .annotate(first=Min("created_at"), longest=Max(span))
            .order_by()
        )
        first_seen: dict[str, dict[str, object]] = {t: {} for t in types}
        longest = dict.fromkeys(types, timedelta(0))
        for row in rows:
            key = source_key(source=row["source"], device_id=row["device_id"], source_name=row["source_name"])
            seen = first_seen[row["metric_type"]]
            seen[key] = row["first"] if key not in seen else min(seen[key], row["first"])
            if row["longest"] is not None:
                longest[row["metric_type"]] = max(longest[row["metric_type"]], row["longest"])
        chosen = dict(
            SourcePriority.objects.filter(user_id=user_id, metric_type__in=types).values_list("metric_type", "sources")
        )
        return {t: TypeSources(tuple(_ordered(chosen.get(t) or [], first_seen[t])), longest[t]) for t in types}

    return person_cache.cached(user_id, "sources", types, compute)


def _ordered(chosen: list[str], first_seen: dict) -> list[str]:
    rest = sorted(
        (key for key in first_seen if key not in chosen),
        # Own devices, manual, imports; the newest source first within each (then by key, to be stable).
        key=lambda key: (_kind_order(key), -first_seen[key].timestamp(), key),
    )
    return list(chosen) + rest


def _rank_expression(orders: dict[str, tuple[str, ...]]) -> Case:
    whens = []
    for metric_type, order in orders.items():
        for rank, key in enumerate(order):
            whens.append(When(_key_condition(key) & Q(metric_type=metric_type), then=Value(rank)))
    return Case(*whens, default=Value(10_000), output_field=IntegerField())


def _key_condition(key: str) -> Q:
    if key == MANUAL_KEY:
        return Q(source=Source.MANUAL, device_id__isnull=True)
    if key.startswith(IMPORT_PREFIX):
        return Q(source=Source.IMPORT, device_id__isnull=True, source_name=key[len(IMPORT_PREFIX) :])
    device = key[len(DEVICE_PREFIX) :]
    if not device:
        return Q(source=Source.DEVICE, device_id__isnull=True)
    return Q(device_id=device)


def counted(readings: QuerySet[HealthMetric], *, user_id, metric_types: Iterable[str]) -> QuerySet[HealthMetric]:
    """READINGS (of USER_ID, of METRIC_TYPES) less those a better source overlaps: what aggregates count."""
    plans = present_sources(user_id=user_id, metric_types=metric_types)
    plans = {t: plan for t, plan in plans.items() if len(plan.order) > 1}
    if not plans:
        return readings
    rank = _rank_expression({t: plan.order for t, plan in plans.items()})
    longest = max(plan.longest for plan in plans.values())
    end = Coalesce("ended_at", "recorded_at", output_field=DateTimeField())
    better = (
        HealthMetric.objects.filter(
            user_id=user_id,
            metric_type=OuterRef("metric_type"),
            quality=Quality.OK,
            recorded_at__gte=ExpressionWrapper(
                OuterRef("recorded_at") - Value(longest, output_field=DurationField()), output_field=DateTimeField()
            ),
            recorded_at__lte=OuterRef("_end"),
        )
        .alias(_rank=rank, _end=end)
        .filter(_rank__lt=OuterRef("_rank"))
        .filter(
            Q(recorded_at=OuterRef("recorded_at"))
            | Q(recorded_at__lt=OuterRef("_end"), _end__gt=OuterRef("recorded_at"))
        )
    )
    return readings.alias(_rank=rank, _end=end).filter(~Q(metric_type__in=list(plans)) | Q(_rank=0) | ~Exists(better))
