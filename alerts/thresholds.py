"""Whether a reading crosses one of the person's own thresholds, and how far.

A bound is crossed strictly: above `max_value` or below `min_value` (a reading equal to a bound is in range). For
blood pressure `min_value`/`max_value` bound the systolic value and `diastolic_*` the diastolic one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .choices import SEVERITY_RANK
from .models import BLOOD_PRESSURE, AlertThreshold


@dataclass(frozen=True)
class Crossing:
    threshold_id: str
    severity: str
    field: str
    direction: Literal["above", "below"]
    value: float
    limit: float

    @property
    def excess(self) -> float:
        """How far beyond the limit, as a share of it: what makes one crossing reading worse than another."""
        return abs(self.value - self.limit) / max(abs(self.limit), 1.0)

    def as_data(self) -> dict[str, Any]:
        return {
            "threshold_id": self.threshold_id,
            "field": self.field,
            "direction": self.direction,
            "limit": self.limit,
        }


def find_crossing(threshold: AlertThreshold, reading: Any) -> Crossing | None:
    """The first bound of THRESHOLD that READING (anything with the value attributes) crosses, or None."""
    if threshold.metric_type == BLOOD_PRESSURE:
        bounds = [
            ("systolic_value", threshold.min_value, threshold.max_value),
            ("diastolic_value", threshold.diastolic_min_value, threshold.diastolic_max_value),
        ]
    else:
        bounds = [("value", threshold.min_value, threshold.max_value)]
    for field, low, high in bounds:
        value = getattr(reading, field, None)
        if value is None:
            continue
        if high is not None and value > high:
            return Crossing(str(threshold.pk), threshold.severity, field, "above", value, high)
        if low is not None and value < low:
            return Crossing(str(threshold.pk), threshold.severity, field, "below", value, low)
    return None


def most_severe_crossing(thresholds: Iterable[AlertThreshold], reading: Any) -> Crossing | None:
    """Of the person's thresholds for READING's metric, the crossing of the most severe one it crosses."""
    found = [c for c in (find_crossing(t, reading) for t in thresholds) if c is not None]
    if not found:
        return None
    return max(found, key=lambda c: (SEVERITY_RANK[c.severity], c.excess))
