"""What each kind of device can measure, and how its configuration is validated.

The capability table is reference data, kept here and nowhere else: configuration validation, the default
configuration of a new device, the offline rule and ingestion (a reading of a metric the device is not configured
for is refused) all read it.

A configuration is a JSON object with three keys, each optional on input and always present once stored:
- `sampling_interval_seconds`: how often the device measures, within the bounds of its kind;
- `metric_types`: the metrics it uploads, a non-empty subset of what its kind can measure;
- `alert_thresholds`: `{"<metric_type>": {"min": x, "max": y}}` for metrics in `metric_types` (blood pressure
  takes `systolic_min`, `systolic_max`, `diastolic_min`, `diastolic_max`), which the device may use to warn on the
  spot; the server's clinical thresholds live in health_metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jeghealth_backend.metric_catalog import METRIC_TYPES

from .choices import DeviceType

# The metric types are the metric catalogue's; only which kind of device measures which is kept here.
ALL_METRIC_TYPES: tuple[str, ...] = METRIC_TYPES

BLOOD_PRESSURE_THRESHOLD_KEYS = ("systolic_min", "systolic_max", "diastolic_min", "diastolic_max")
THRESHOLD_KEYS = ("min", "max")
CONFIGURATION_KEYS = ("sampling_interval_seconds", "metric_types", "alert_thresholds")

# An offline alert waits for this many expected intervals of silence, and never less than the floor: a device
# that measures every minute is not "offline" because one upload was late.
OFFLINE_INTERVALS = 3
OFFLINE_MINIMUM = timedelta(hours=1)


@dataclass(frozen=True)
class Capability:
    metric_types: tuple[str, ...]
    default_interval: int  # seconds
    min_interval: int
    max_interval: int


MINUTE, HOUR, DAY = 60, 3600, 86400

CAPABILITIES: dict[str, Capability] = {
    DeviceType.SMARTWATCH: Capability(
        ("heart_rate", "steps", "sleep_hours", "calories", "oxygen_saturation"), 5 * MINUTE, 1, 6 * HOUR
    ),
    DeviceType.FITNESS_TRACKER: Capability(
        ("heart_rate", "steps", "sleep_hours", "calories", "oxygen_saturation"), 5 * MINUTE, 1, 6 * HOUR
    ),
    DeviceType.BLOOD_PRESSURE_MONITOR: Capability(("blood_pressure", "heart_rate"), 12 * HOUR, MINUTE, 7 * DAY),
    DeviceType.GLUCOSE_METER: Capability(("blood_sugar",), 6 * HOUR, MINUTE, 7 * DAY),
    DeviceType.SMART_SCALE: Capability(
        ("weight", "bmi", "body_fat_percentage", "muscle_mass"), DAY, 10 * MINUTE, 14 * DAY
    ),
    DeviceType.THERMOMETER: Capability(("temperature",), 6 * HOUR, MINUTE, 7 * DAY),
    DeviceType.PULSE_OXIMETER: Capability(("oxygen_saturation", "heart_rate"), MINUTE, 1, DAY),
    DeviceType.OTHER: Capability(ALL_METRIC_TYPES, HOUR, 1, 14 * DAY),
}


class ConfigurationInvalid(Exception):
    """The configuration breaks a rule; `fields` maps `configuration.<key>` paths to messages."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("invalid configuration")
        self.fields = fields


def capability_for(device_type: str) -> Capability:
    return CAPABILITIES[DeviceType(device_type)]


def default_configuration(device_type: str) -> dict[str, Any]:
    cap = capability_for(device_type)
    return {
        "sampling_interval_seconds": cap.default_interval,
        "metric_types": list(cap.metric_types),
        "alert_thresholds": {},
    }


def clean_configuration(device_type: str, raw: Any) -> dict[str, Any]:
    """The configuration completed with the defaults of DEVICE_TYPE, or ConfigurationInvalid."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigurationInvalid({"configuration": ["Send a JSON object."]})
    cap = capability_for(device_type)
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(raw) - set(CONFIGURATION_KEYS))
    if unknown:
        errors["configuration"] = [f"Unknown keys: {', '.join(unknown)}. Allowed: {', '.join(CONFIGURATION_KEYS)}."]
    config = default_configuration(device_type)

    if "sampling_interval_seconds" in raw:
        interval = raw["sampling_interval_seconds"]
        if isinstance(interval, bool) or not isinstance(interval, int):
            errors["sampling_interval_seconds"] = ["Send a whole number of seconds."]
        elif not cap.min_interval <= interval <= cap.max_interval:
            errors["sampling_interval_seconds"] = [
                f"A {device_type} samples every {cap.min_interval} to {cap.max_interval} seconds."
            ]
        else:
            config["sampling_interval_seconds"] = interval

    if "metric_types" in raw:
        metric_types = raw["metric_types"]
        if not isinstance(metric_types, list) or not metric_types or not all(isinstance(m, str) for m in metric_types):
            errors["metric_types"] = ["Send a non-empty list of metric types."]
        else:
            unsupported = [m for m in metric_types if m not in cap.metric_types]
            if unsupported:
                errors["metric_types"] = [
                    f"A {device_type} cannot measure {', '.join(sorted(set(unsupported)))}; "
                    f"it measures {', '.join(cap.metric_types)}."
                ]
            else:
                config["metric_types"] = list(dict.fromkeys(metric_types))

    if "alert_thresholds" in raw:
        thresholds, threshold_errors = _clean_thresholds(raw["alert_thresholds"], config["metric_types"])
        if threshold_errors:
            errors["alert_thresholds"] = threshold_errors
        else:
            config["alert_thresholds"] = thresholds

    if errors:
        raise ConfigurationInvalid({f"configuration.{key}": messages for key, messages in errors.items()})
    return config


def _clean_thresholds(raw: Any, metric_types: list[str]) -> tuple[dict[str, dict[str, float]], list[str]]:
    if not isinstance(raw, dict):
        return {}, ["Send an object keyed by metric type."]
    errors: list[str] = []
    cleaned: dict[str, dict[str, float]] = {}
    for metric_type, bounds in raw.items():
        if metric_type not in metric_types:
            errors.append(f"{metric_type}: not one of this device's metric types.")
            continue
        allowed = BLOOD_PRESSURE_THRESHOLD_KEYS if metric_type == "blood_pressure" else THRESHOLD_KEYS
        if not isinstance(bounds, dict) or not bounds or set(bounds) - set(allowed):
            errors.append(f"{metric_type}: send an object with some of {', '.join(allowed)}.")
            continue
        if not all(_is_number(v) for v in bounds.values()):
            errors.append(f"{metric_type}: thresholds are finite numbers.")
            continue
        for low, high in (("min", "max"), ("systolic_min", "systolic_max"), ("diastolic_min", "diastolic_max")):
            if low in bounds and high in bounds and bounds[low] >= bounds[high]:
                errors.append(f"{metric_type}: {low} must be below {high}.")
        cleaned[metric_type] = {key: float(value) for key, value in bounds.items()}
    return cleaned, errors


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def offline_after(device_type: str, configuration: dict[str, Any]) -> timedelta:
    """How long a device may stay silent before it counts as offline (3 × its interval, at least an hour)."""
    interval = configuration.get("sampling_interval_seconds") or capability_for(device_type).default_interval
    return max(OFFLINE_MINIMUM, timedelta(seconds=OFFLINE_INTERVALS * int(interval)))


def allowed_metric_types(device_type: str, configuration: dict[str, Any]) -> frozenset[str]:
    configured = configuration.get("metric_types")
    return frozenset(configured or capability_for(device_type).metric_types)
