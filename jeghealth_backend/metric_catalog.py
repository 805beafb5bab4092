"""The clinical reference data of /work/shared/METRICS.md as one table: `CATALOG`, one `MetricSpec` per type.

Everything that knows about a metric type (its canonical unit, the units accepted and how they convert, the
plausible range that refuses input, the alert thresholds that flag stored readings, the jump that makes a
reading suspect, the aggregate a target uses, LOINC/UCUM for export) reads it from here. Adding a metric type
is adding one row; nothing else in the code lists metric types.

Plausible ranges are deliberately much wider than alert thresholds: a crisis reading must be stored and
alerted on, never refused.

It is on the ground floor because it is the product's reference data, not one app's: health metrics validates
and summarises with it, alerts words its messages with it, devices list what they measure from it, reports export
with it. It holds data only and imports nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

Level = Literal["critical", "warning", "info"]
Op = Literal["<", "<=", ">", ">="]
TargetAggregate = Literal["sum", "last", "avg"]


@dataclass(frozen=True, slots=True)
class Unit:
    """An accepted unit: canonical = (entered + shift) * factor. `aliases` are matched lower-cased and trimmed."""

    name: str
    factor: float = 1.0
    shift: float = 0.0
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Threshold:
    """A default alert threshold: the reading is anomalous when `field op bound` (canonical unit)."""

    level: Level
    field: str
    op: Op
    bound: float
    reason: str


@dataclass(frozen=True, slots=True)
class ChangeRule:
    """An alert on change over time, e.g. a heart-failure patient's weight gain of more than 0.9 kg in 24 h.

    `kind` "gain"/"loss" compares the reading with the lowest/highest earlier reading inside `window`;
    `relative` makes `amount` a percentage of that earlier reading.
    """

    level: Level
    kind: Literal["gain", "loss"]
    window: timedelta
    amount: float
    relative: bool
    reason: str


@dataclass(frozen=True, slots=True)
class JumpRule:
    """A reading that moves more than `max_delta` from the person's previous one within `window` is suspect."""

    window: timedelta
    max_delta: float


@dataclass(frozen=True, slots=True)
class MetricSpec:
    metric_type: str
    label: str
    unit: str
    units: tuple[Unit, ...]
    # Per value field, the plausible (min, max) in the canonical unit, both included.
    ranges: MappingProxyType
    loinc: str
    ucum: str
    target_aggregate: TargetAggregate
    thresholds: tuple[Threshold, ...] = ()
    change_rules: tuple[ChangeRule, ...] = ()
    jump: JumpRule | None = None
    # Ready-made lookup: lower-cased spelling -> Unit.
    unit_lookup: MappingProxyType = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lookup = {}
        for unit in self.units:
            for spelling in (unit.name, *unit.aliases):
                lookup[spelling.strip().lower()] = unit
        object.__setattr__(self, "unit_lookup", MappingProxyType(lookup))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    @property
    def is_blood_pressure(self) -> bool:
        return "systolic_value" in self.ranges

    @property
    def unit_names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.units)


VALUE = "value"
SYSTOLIC = "systolic_value"
DIASTOLIC = "diastolic_value"


def _ranges(**ranges: tuple[float, float]) -> MappingProxyType:
    return MappingProxyType(ranges)


def _one(low: float, high: float) -> MappingProxyType:
    return _ranges(value=(low, high))


_SPECS = (
    MetricSpec(
        metric_type="blood_pressure",
        label="Blood pressure",
        unit="mmHg",
        units=(Unit("mmHg", aliases=("mm[Hg]",)),),
        ranges=_ranges(systolic_value=(40, 300), diastolic_value=(20, 200)),
        loinc="85354-9",
        ucum="mm[Hg]",
        target_aggregate="avg",
        thresholds=(
            # 2017 ACC/AHA: hypertensive crisis; and hypotension at or below 90 systolic.
            Threshold("critical", SYSTOLIC, ">", 180, "critical: systolic above 180 mmHg (hypertensive crisis)"),
            Threshold("critical", DIASTOLIC, ">", 120, "critical: diastolic above 120 mmHg (hypertensive crisis)"),
            Threshold("critical", SYSTOLIC, "<=", 90, "critical: systolic at or below 90 mmHg (hypotension)"),
            Threshold("warning", SYSTOLIC, ">=", 140, "warning: systolic 140 mmHg or more (stage 2 hypertension)"),
            Threshold("warning", DIASTOLIC, ">=", 90, "warning: diastolic 90 mmHg or more (stage 2 hypertension)"),
        ),
    ),
    MetricSpec(
        metric_type="heart_rate",
        label="Heart rate",
        unit="bpm",
        units=(Unit("bpm", aliases=("/min", "beats/min")),),
        ranges=_one(20, 300),
        loinc="8867-4",
        ucum="/min",
        target_aggregate="avg",
        thresholds=(
            # NEWS2: score 3 at or below 40 and at or above 131; score 1-2 for 41-50 and 111-130.
            Threshold("critical", VALUE, "<=", 40, "critical: heart rate at or below 40 bpm (NEWS2 3)"),
            Threshold("critical", VALUE, ">=", 131, "critical: heart rate 131 bpm or more (NEWS2 3)"),
            Threshold("warning", VALUE, "<=", 50, "warning: heart rate 41-50 bpm (NEWS2 1)"),
            Threshold("warning", VALUE, ">=", 111, "warning: heart rate 111-130 bpm (NEWS2 2)"),
        ),
    ),
    MetricSpec(
        metric_type="weight",
        label="Weight",
        unit="kg",
        units=(Unit("kg"), Unit("lb", factor=0.45359237, aliases=("lbs",)), Unit("g", factor=0.001)),
        ranges=_one(0.5, 650),
        loinc="29463-7",
        ucum="kg",
        target_aggregate="last",
        change_rules=(
            # AAHFN heart-failure daily-weight guidance: fluid retention shows as fast gain.
            ChangeRule("warning", "gain", timedelta(hours=24), 0.9, False, "warning: weight gain over 0.9 kg in 24 h"),
            ChangeRule("warning", "gain", timedelta(days=7), 2.3, False, "warning: weight gain over 2.3 kg in 7 days"),
            ChangeRule(
                "warning", "loss", timedelta(days=30), 5.0, True, "warning: weight loss of 5 % or more in 30 days"
            ),
        ),
        jump=JumpRule(window=timedelta(hours=1), max_delta=5.0),
    ),
    MetricSpec(
        metric_type="blood_sugar",
        label="Blood sugar",
        unit="mg/dL",
        units=(Unit("mg/dL"), Unit("mmol/L", factor=18.016)),
        ranges=_one(10, 900),
        loinc="2339-0",
        ucum="mg/dL",
        target_aggregate="avg",
        thresholds=(
            # ADA Standards of Care: level 2 hypoglycaemia below 54, level 1 below 70.
            Threshold("critical", VALUE, "<", 54, "critical: blood sugar below 54 mg/dL (level 2 hypoglycaemia)"),
            Threshold("critical", VALUE, ">", 250, "critical: blood sugar above 250 mg/dL"),
            Threshold("warning", VALUE, "<", 70, "warning: blood sugar below 70 mg/dL (level 1 hypoglycaemia)"),
            Threshold("warning", VALUE, ">", 180, "warning: blood sugar above 180 mg/dL"),
        ),
    ),
    MetricSpec(
        metric_type="temperature",
        label="Body temperature",
        unit="celsius",
        units=(
            Unit("celsius", aliases=("°C", "C", "Cel", "degC")),
            Unit("fahrenheit", factor=5 / 9, shift=-32.0, aliases=("°F", "F", "[degF]", "degF")),
        ),
        ranges=_one(25, 45),
        loinc="8310-5",
        ucum="Cel",
        target_aggregate="avg",
        thresholds=(
            # NEWS2: 35.0 or less scores 3, 39.1 or more scores 2; 38.0 is fever.
            Threshold("critical", VALUE, "<=", 35.0, "critical: temperature at or below 35.0 °C (hypothermia)"),
            Threshold("critical", VALUE, ">=", 39.1, "critical: temperature 39.1 °C or more (NEWS2 2)"),
            Threshold("warning", VALUE, ">=", 38.0, "warning: temperature 38.0 °C or more (fever)"),
            Threshold("warning", VALUE, "<=", 36.0, "warning: temperature 35.1-36.0 °C (NEWS2 1)"),
        ),
        jump=JumpRule(window=timedelta(minutes=10), max_delta=3.0),
    ),
    MetricSpec(
        metric_type="oxygen_saturation",
        label="Oxygen saturation",
        unit="%",
        units=(Unit("%", aliases=("percent",)), Unit("fraction", factor=100.0, aliases=("ratio",))),
        ranges=_one(50, 100),
        loinc="2708-6",
        ucum="%",
        target_aggregate="avg",
        thresholds=(
            Threshold("critical", VALUE, "<", 90, "critical: oxygen saturation below 90 %"),
            # NEWS2 scores 91 % or less as 3 and 92-93 % as 2: 90-93 % is at least a warning.
            Threshold("warning", VALUE, "<", 94, "warning: oxygen saturation 90-93 %"),
        ),
    ),
    MetricSpec(
        metric_type="steps",
        label="Steps",
        unit="steps",
        units=(Unit("steps", aliases=("{steps}", "count")),),
        ranges=_one(0, 100_000),
        loinc="55423-8",
        ucum="{steps}",
        target_aggregate="sum",
    ),
    MetricSpec(
        metric_type="sleep_hours",
        label="Sleep",
        unit="hours",
        units=(Unit("hours", aliases=("h", "hour", "hr")), Unit("minutes", factor=1 / 60, aliases=("min",))),
        ranges=_one(0, 24),
        loinc="93832-4",
        ucum="h",
        target_aggregate="sum",
    ),
    MetricSpec(
        metric_type="calories",
        label="Calories",
        unit="kcal",
        units=(Unit("kcal", aliases=("kilocalories",)), Unit("kJ", factor=1 / 4.184)),
        ranges=_one(0, 15_000),
        loinc="41981-2",
        ucum="kcal",
        target_aggregate="sum",
    ),
    MetricSpec(
        metric_type="bmi",
        label="Body mass index",
        unit="kg/m2",
        units=(Unit("kg/m2", aliases=("kg/m²",)),),
        ranges=_one(10, 100),
        loinc="39156-5",
        ucum="kg/m2",
        target_aggregate="last",
        thresholds=(
            # WHO bands: underweight and obesity.
            Threshold("info", VALUE, "<", 18.5, "info: BMI below 18.5 (underweight)"),
            Threshold("info", VALUE, ">=", 30, "info: BMI 30 or more (obesity)"),
        ),
    ),
    MetricSpec(
        metric_type="body_fat_percentage",
        label="Body fat",
        unit="%",
        units=(Unit("%", aliases=("percent",)), Unit("fraction", factor=100.0, aliases=("ratio",))),
        ranges=_one(2, 75),
        loinc="41982-0",
        ucum="%",
        target_aggregate="last",
    ),
    MetricSpec(
        metric_type="muscle_mass",
        label="Muscle mass",
        unit="kg",
        units=(Unit("kg"), Unit("lb", factor=0.45359237, aliases=("lbs",))),
        # Also below the person's latest weight: checked where readings are stored (it needs the database).
        ranges=_one(5, 150),
        loinc="73964-9",
        ucum="kg",
        target_aggregate="last",
    ),
)

CATALOG: MappingProxyType = MappingProxyType({spec.metric_type: spec for spec in _SPECS})
METRIC_TYPES: tuple[str, ...] = tuple(CATALOG)
METRIC_TYPE_CHOICES: list[tuple[str, str]] = [(spec.metric_type, spec.label) for spec in _SPECS]

# A BMI sent with a reading may differ from the one derived from weight and height by this much before it is
# suspect (METRICS.md notes).
BMI_DERIVED_TOLERANCE = 1.0


def spec_for(metric_type: str) -> MetricSpec:
    return CATALOG[metric_type]
