"""Whether a reading crosses a threshold, and what health alerts (threshold crossings, anomalies) say.

A bound is crossed strictly: above `max_value` or below `min_value` (a reading equal to a bound is in range). For
blood pressure `min_value`/`max_value` bound the systolic value and `diastolic_*` the diastolic one. Titles and
bodies name the metric, the direction and the time but no value: they travel by push and e-mail. The values are
in `data`, which only the person's authenticated API shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Literal

from jeghealth_backend.metric_catalog import CATALOG

from .choices import BLOOD_PRESSURE, Severity

APP_NAME = "JEGHealth"


@dataclass(frozen=True)
class Crossing:
    field: str
    direction: Literal["above", "below"]
    value: float
    limit: float


def find_crossing(threshold: Any, reading: Any) -> Crossing | None:
    """The first bound of THRESHOLD that READING crosses, or None when it is in range."""
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
            return Crossing(field=field, direction="above", value=value, limit=high)
        if low is not None and value < low:
            return Crossing(field=field, direction="below", value=value, limit=low)
    return None


def metric_label(metric_type: str) -> str:
    spec = CATALOG.get(metric_type)
    return spec.label if spec is not None else metric_type.replace("_", " ").capitalize()


def alert_content(
    *, threshold: Any, reading: Any, crossing: Crossing, episode_id: str, tz: tzinfo
) -> tuple[str, str, dict]:
    """Title, body and data of the health alert that opens an episode."""
    label = metric_label(threshold.metric_type)
    part = {"systolic_value": "systolic ", "diastolic_value": "diastolic "}.get(crossing.field, "")
    local = reading.recorded_at.astimezone(tz)
    recorded_local = f"{local:%H:%M} on {local:%d %b %Y}"
    title = f"{label} {crossing.direction} your {threshold.severity} limit"
    body = (
        f"A {part}{label.lower()} reading recorded at {recorded_local} is {crossing.direction} the "
        f"{threshold.severity} limit you set. Open {APP_NAME} for details."
    )
    spec = CATALOG.get(threshold.metric_type)
    data = {
        "reading_id": str(reading.pk),
        "threshold_id": str(threshold.pk),
        "episode_id": episode_id,
        "metric_type": threshold.metric_type,
        "metric_label": label,
        "field": crossing.field,
        "direction": crossing.direction,
        "value": crossing.value,
        "limit": crossing.limit,
        "unit": spec.unit if spec is not None else "",
        "recorded_at": reading.recorded_at.isoformat(),
        "recorded_local": recorded_local,
    }
    return title, body, data


def anomaly_content(*, reading: Any, tz: tzinfo) -> tuple[str, str, dict, str]:
    """Title, body, data and severity of the alert for a reading flagged anomalous (`anomaly_reason`).

    Critical when one of the reasons (`;`-separated, each starting with its level) is critical.
    """
    reasons = [part.strip() for part in (reading.anomaly_reason or "").split(";") if part.strip()]
    severity = Severity.CRITICAL if any(r.startswith("critical") for r in reasons) else Severity.WARNING
    label = metric_label(reading.metric_type)
    local = reading.recorded_at.astimezone(tz)
    recorded_local = f"{local:%H:%M} on {local:%d %b %Y}"
    title = f"Unusual {label.lower()} reading"
    body = f"A {label.lower()} reading recorded at {recorded_local} looks unusual. Open {APP_NAME} for details."
    data = {
        "reading_id": str(reading.pk),
        "metric_type": reading.metric_type,
        "metric_label": label,
        "reasons": reasons,
        "recorded_at": reading.recorded_at.isoformat(),
        "recorded_local": recorded_local,
    }
    return title, body, data, severity
