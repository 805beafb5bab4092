"""The clinical thresholds of METRICS.md applied to one reading: pure, about a microsecond, with no query.

Every insert path flags a reading that crosses them as it stores it (`storage.NewReadings`), so a backlog of
thousands of crossing readings costs no UPDATE afterwards; detection (anomalies.py) adds what needs the person's
history (weight changes, the robust z-score).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from jeghealth_backend.metric_catalog import CATALOG, MetricSpec

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
REASON_MAX = 255


@dataclass(frozen=True, slots=True)
class Finding:
    """One clinical rule a reading breaks: its level, the reason stored on the reading, how far out it is."""

    level: str
    reason: str
    excess: float


def threshold_findings(spec: MetricSpec, reading) -> list[Finding]:
    """The catalog thresholds READING crosses: per value field and direction, the most severe one (the catalog
    lists critical before warning)."""
    findings, seen = [], set()
    for threshold in spec.thresholds:
        direction = (threshold.field, threshold.op[0])
        value = getattr(reading, threshold.field)
        if direction in seen or value is None:
            continue
        if _OPS[threshold.op](value, threshold.bound):
            seen.add(direction)
            excess = abs(value - threshold.bound) / max(abs(threshold.bound), 1.0)
            findings.append(Finding(threshold.level, threshold.reason, excess))
    return findings


def clinical_reason(reading) -> str:
    """The anomaly reason READING gets on insert: its crossed clinical thresholds, `;`-separated, or ""."""
    spec = CATALOG.get(reading.metric_type)
    if spec is None or not spec.thresholds:
        return ""
    return "; ".join(f.reason for f in threshold_findings(spec, reading))[:REASON_MAX]
