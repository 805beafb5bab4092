"""Rules that judge a reading against the person's other readings, applied where readings are stored.

`clean_reading` cannot see the database; these can. They either refuse (muscle mass not below the latest
weight: METRICS.md makes it part of the plausible range) or store the reading with `quality = suspect`
(an implausible jump from the previous reading; a sent BMI far from the one derived from weight and height).
Suspect readings stay out of summaries and targets until the person confirms them (PATCH `quality: ok`),
and are never the "previous reading" another one is judged against.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jeghealth_backend.metric_catalog import BMI_DERIVED_TOLERANCE, CATALOG

from .models import HealthMetric, Quality
from .validation import CleanReading

_NEEDS_WEIGHT = ("weight", "muscle_mass", "bmi")


@dataclass(slots=True)
class Assessment:
    qualities: list[str]
    # Refusals by position in the input: {index: {"value": ["…"]}}.
    refusals: dict[int, dict[str, list[str]]]


def assess(*, user_id, readings: Sequence[CleanReading], height_cm: float | None, exclude_id=None) -> Assessment:
    """Judge READINGS (one request's worth, any order) against each other and the person's stored ones.

    Costs at most two queries per metric type involved (weight, temperature), whatever the number of readings.
    `exclude_id` leaves out a stored reading being replaced (PATCH).
    """
    qualities = [Quality.OK.value] * len(readings)
    refusals: dict[int, dict[str, list[str]]] = {}
    by_type: dict[str, list[int]] = {}
    for index, reading in enumerate(readings):
        by_type.setdefault(reading.metric_type, []).append(index)

    weights = None
    if any(t in by_type for t in _NEEDS_WEIGHT):
        weights = _judge_series(user_id, "weight", readings, by_type.get("weight", []), qualities, exclude_id)
    if "temperature" in by_type:
        _judge_series(user_id, "temperature", readings, by_type["temperature"], qualities, exclude_id)

    for index in by_type.get("muscle_mass", []):
        reading = readings[index]
        weight = weights.at_or_before(reading.recorded_at) if weights else None
        if weight is not None and reading.value >= weight:
            refusals[index] = {"value": [f"Must be below the latest weight ({weight:g} kg)."]}
    if height_cm:
        height_m = float(height_cm) / 100
        for index in by_type.get("bmi", []):
            reading = readings[index]
            weight = weights.at_or_before(reading.recorded_at) if weights else None
            if weight is not None and abs(reading.value - weight / height_m**2) > BMI_DERIVED_TOLERANCE:
                qualities[index] = Quality.SUSPECT.value
    return Assessment(qualities=qualities, refusals=refusals)


class _Series:
    """The person's trusted readings of one type, in time order: the stored ones plus those accepted so far."""

    def __init__(self, points: list[tuple[datetime, float]]):
        self.times = [t for t, _ in points]
        self.values = [v for _, v in points]

    def at_or_before(self, moment: datetime) -> float | None:
        found = self._index(moment)
        return self.values[found] if found is not None else None

    def previous(self, moment: datetime) -> tuple[datetime, float] | None:
        found = self._index(moment)
        return (self.times[found], self.values[found]) if found is not None else None

    def add(self, moment: datetime, value: float) -> None:
        position = bisect.bisect_right(self.times, moment)
        self.times.insert(position, moment)
        self.values.insert(position, value)

    def _index(self, moment: datetime) -> int | None:
        position = bisect.bisect_right(self.times, moment)
        return position - 1 if position else None


def _judge_series(user_id, metric_type, readings, indexes, qualities, exclude_id) -> _Series:
    spec = CATALOG[metric_type]
    related = _NEEDS_WEIGHT if metric_type == "weight" else (metric_type,)
    times = [r.recorded_at for r in readings if r.metric_type in related]
    earliest = min(times) - (spec.jump.window if spec.jump else timedelta(0))
    base = HealthMetric.objects.filter(user_id=user_id, metric_type=metric_type, quality=Quality.OK)
    if exclude_id is not None:
        base = base.exclude(pk=exclude_id)
    # The readings in the span the request covers, and the last one before it.
    points = list(
        base.filter(recorded_at__gte=earliest, recorded_at__lte=max(times))
        .order_by("recorded_at")
        .values_list("recorded_at", "value")
    )
    older = base.filter(recorded_at__lt=earliest).order_by("-recorded_at").values_list("recorded_at", "value").first()
    series = _Series(([older] if older else []) + points)

    # In time order, so that a reading earlier in the same request counts as the previous one of a later one.
    for index in sorted(indexes, key=lambda i: readings[i].recorded_at):
        reading = readings[index]
        previous = series.previous(reading.recorded_at)
        if (
            spec.jump
            and previous is not None
            and reading.recorded_at - previous[0] <= spec.jump.window
            and abs(reading.value - previous[1]) > spec.jump.max_delta
        ):
            qualities[index] = Quality.SUSPECT.value
            continue
        series.add(reading.recorded_at, reading.value)
    return series
