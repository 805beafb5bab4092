"""The one validation of a reading, shared by manual entry, bulk entry and IoT ingestion.

`clean_reading` is plain Python against the catalog (dict look-ups and float compares, about a microsecond
for a valid reading): no serializer, no query. It refuses what METRICS.md calls implausible and converts the
unit to the canonical one. Rules that need the person's history (muscle mass below the latest weight, suspect
jumps) live in `quality.py`, applied where readings are stored.
"""

from __future__ import annotations

import math
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import orjson

from jeghealth_backend.metric_catalog import CATALOG, DIASTOLIC, SYSTOLIC, VALUE, Unit

from .exceptions import ReadingInvalid

# A phone or device clock a little ahead of ours is normal; further ahead is a reading from the future.
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
NOTES_MAX_LENGTH = 2000
METADATA_MAX_BYTES = 4096
METADATA_MAX_KEYS = 50
METADATA_MAX_DEPTH = 3
# An interval reading (steps, calories, sleep from `recorded_at` to `ended_at`) covers at most a day: the bound
# also keeps source arbitration's overlap look-up narrow (arbitration.py).
MAX_INTERVAL = timedelta(hours=24)
# Converted values keep 6 decimals: enough for any clinical unit, and it spares answers like 36.99999999999.
CONVERTED_DECIMALS = 6

_NUMBER_FIELDS = (VALUE, SYSTOLIC, DIASTOLIC)


@dataclass(frozen=True, slots=True)
class CleanReading:
    """A valid reading in the canonical unit; `recorded_at` is an aware UTC datetime."""

    metric_type: str
    value: float | None
    systolic_value: float | None
    diastolic_value: float | None
    unit: str
    entered_value: float | None
    entered_unit: str
    recorded_at: datetime
    notes: str
    metadata: dict
    # The UTC offset `recorded_at` was written with, in minutes (0 for `Z`).
    recorded_offset_minutes: int = 0
    # The end of an interval reading (cumulative types only), UTC; None for an instant.
    ended_at: datetime | None = None


def clean_reading(raw: dict, *, now: datetime) -> CleanReading:
    """Check and convert one reading given as plain data (JSON-decoded dict).

    Keys read: `metric_type`, `value` or `systolic_value`/`diastolic_value`, `unit` (optional: the canonical
    unit), `recorded_at` (ISO 8601 with an offset, or an aware datetime), `notes`, `metadata`. Other keys are
    ignored. Cumulative types (steps, calories, sleep) also take `ended_at` (after `recorded_at`, within a day).
    Raises `ReadingInvalid` naming every field at fault.
    """
    # The valid path is written flat (no helper calls, no error dict) because ingestion runs it per reading.
    if type(raw) is not dict:
        raise ReadingInvalid({"non_field_errors": ["Each reading must be a JSON object."]})
    get = raw.get
    metric_type = get("metric_type")
    plan = _PLANS.get(metric_type) if type(metric_type) is str else None
    recorded_at = get("recorded_at")
    offset = 0
    if type(recorded_at) is str and recorded_at[-1:] == "Z" and len(recorded_at) <= 40:
        try:
            moment = datetime.fromisoformat(recorded_at).astimezone(UTC)
        except ValueError:
            moment = None
    else:
        moment, offset = parse_recorded_at_with_offset(recorded_at)
    notes = get("notes")
    metadata = get("metadata")
    unit_raw = get("unit")
    if unit_raw is None and plan is not None:
        unit = plan.default_unit
    elif type(unit_raw) is str and plan is not None:
        unit = plan.units.get(unit_raw.strip().lower()) or (plan.default_unit if not unit_raw.strip() else None)
    else:
        unit = None

    if (
        plan is not None
        and unit is not None
        and moment is not None
        and EARLIEST <= moment <= now + CLOCK_SKEW
        and (notes is None or (type(notes) is str and len(notes) <= NOTES_MAX_LENGTH))
        and (metadata is None or (type(metadata) is dict and not metadata))
        and get(plan.absent[0]) is None
        and (len(plan.absent) == 1 or get(plan.absent[1]) is None)
        and get("ended_at") is None
    ):
        factor, shift = unit.factor, unit.shift
        if plan.single:
            given = get("value")
            # `-_FLOAT_MAX <= given <= _FLOAT_MAX` is false for NaN, the infinities and an int too large for a float.
            if type(given) in _NUMBER_TYPES and -_FLOAT_MAX <= given <= _FLOAT_MAX:
                number = given if (factor == 1.0 and not shift) else round((given + shift) * factor, CONVERTED_DECIMALS)
                if plan.low <= number <= plan.high:
                    return _make(
                        plan.metric_type,
                        float(number),
                        None,
                        None,
                        plan.unit,
                        float(given),
                        unit.name,
                        moment,
                        notes or "",
                        {} if metadata is None else metadata,
                        offset,
                    )
        else:
            systolic, diastolic = get(SYSTOLIC), get(DIASTOLIC)
            if (
                type(systolic) in _NUMBER_TYPES
                and type(diastolic) in _NUMBER_TYPES
                and plan.low <= systolic <= plan.high
                and plan.low2 <= diastolic <= plan.high2
                and systolic > diastolic
            ):
                return _make(
                    plan.metric_type,
                    None,
                    float(systolic),
                    float(diastolic),
                    plan.unit,
                    None,
                    unit.name,
                    moment,
                    notes or "",
                    {} if metadata is None else metadata,
                    offset,
                )
    # Something is off (or metadata needs its bounds checked): the thorough path names every field at fault.
    return _clean_reading_thoroughly(raw, now=now)


def _clean_reading_thoroughly(raw: dict, *, now: datetime) -> CleanReading:
    errors: dict[str, list[str]] = {}

    metric_type = raw.get("metric_type")
    spec = CATALOG.get(metric_type) if isinstance(metric_type, str) else None
    if spec is None:
        if metric_type is None:
            errors["metric_type"] = ["This field is required."]
        else:
            errors["metric_type"] = [f"Unknown metric type; use one of {', '.join(CATALOG)}."]

    recorded_at = _recorded_at(raw.get("recorded_at"), now, errors)
    _, offset = parse_recorded_at_with_offset(raw.get("recorded_at"))
    notes = _notes(raw.get("notes"), errors)
    metadata = _metadata(raw.get("metadata"), errors)
    if spec is None:
        raise ReadingInvalid(errors)

    unit_raw = raw.get("unit")
    if unit_raw is None or (isinstance(unit_raw, str) and not unit_raw.strip()):
        unit = spec.units[0]
    elif isinstance(unit_raw, str):
        unit = spec.unit_lookup.get(unit_raw.strip().lower())
        if unit is None:
            errors["unit"] = [f"Not a unit for {spec.metric_type}; use one of {', '.join(spec.unit_names)}."]
    else:
        unit = None
        errors["unit"] = ["Must be a string."]

    values: dict[str, float | None] = {}
    entered_value = None
    for name in _NUMBER_FIELDS:
        given = raw.get(name)
        if name not in spec.ranges:
            if given is not None:
                errors[name] = [_not_for_type(name, spec.metric_type)]
            continue
        if given is None:
            errors[name] = ["This field is required."]
            continue
        number = _finite(given)
        if number is None:
            errors[name] = ["A number is required."]
            continue
        if unit is None:
            continue
        if name == VALUE:
            entered_value = number
        if unit.factor != 1.0 or unit.shift:
            number = round((number + unit.shift) * unit.factor, CONVERTED_DECIMALS)
        low, high = spec.ranges[name]
        if not low <= number <= high:
            errors[name] = [f"Must be between {low:g} and {high:g} {spec.unit}."]
            continue
        values[name] = number

    systolic, diastolic = values.get(SYSTOLIC), values.get(DIASTOLIC)
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        errors.setdefault(SYSTOLIC, []).append("Must be above the diastolic value.")
    ended_at = _ended_at(raw.get("ended_at"), spec, recorded_at, errors)
    if errors:
        raise ReadingInvalid(errors)
    return _make(
        spec.metric_type,
        values.get(VALUE),
        systolic,
        diastolic,
        spec.unit,
        entered_value,
        unit.name,
        recorded_at,
        notes,
        metadata,
        offset,
        ended_at,
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the fast path of `clean_reading` needs of one catalog row, flattened."""

    metric_type: str
    unit: str
    default_unit: Unit
    units: MappingProxyType
    single: bool
    absent: tuple[str, ...]
    low: float
    high: float
    low2: float = 0.0
    high2: float = 0.0


def _plan(spec) -> _Plan:
    if spec.is_blood_pressure:
        (low, high), (low2, high2) = spec.ranges[SYSTOLIC], spec.ranges[DIASTOLIC]
        return _Plan(
            spec.metric_type, spec.unit, spec.units[0], spec.unit_lookup, False, (VALUE,), low, high, low2, high2
        )
    low, high = spec.ranges[VALUE]
    return _Plan(spec.metric_type, spec.unit, spec.units[0], spec.unit_lookup, True, (SYSTOLIC, DIASTOLIC), low, high)


_PLANS = {metric_type: _plan(spec) for metric_type, spec in CATALOG.items()}
_NUMBER_TYPES = (int, float)
_FLOAT_MAX = sys.float_info.max
# A frozen dataclass's generated __init__ sets each field through object.__setattr__, about twice the cost of
# the whole rest of the fast path; the slot descriptors set the same fields directly.
(
    _set_metric_type,
    _set_value,
    _set_systolic_value,
    _set_diastolic_value,
    _set_unit,
    _set_entered_value,
    _set_entered_unit,
    _set_recorded_at,
    _set_notes,
    _set_metadata,
    _set_recorded_offset_minutes,
    _set_ended_at,
) = (CleanReading.__dict__[name].__set__ for name in CleanReading.__slots__)
_new = object.__new__


def _make(
    metric_type,
    value,
    systolic_value,
    diastolic_value,
    unit,
    entered_value,
    entered_unit,
    recorded_at,
    notes,
    metadata,
    offset=0,
    ended_at=None,
) -> CleanReading:
    reading = _new(CleanReading)
    _set_metric_type(reading, metric_type)
    _set_value(reading, value)
    _set_systolic_value(reading, systolic_value)
    _set_diastolic_value(reading, diastolic_value)
    _set_unit(reading, unit)
    _set_entered_value(reading, entered_value)
    _set_entered_unit(reading, entered_unit)
    _set_recorded_at(reading, recorded_at)
    _set_notes(reading, notes)
    _set_metadata(reading, metadata)
    _set_recorded_offset_minutes(reading, offset)
    _set_ended_at(reading, ended_at)
    return reading


@dataclass(frozen=True, slots=True)
class ManualEntry:
    """A person's reading as the app sends it: the reading plus its offline-sync id and entry flag."""

    reading: CleanReading
    is_manual_entry: bool
    client_record_id: uuid.UUID | None


def clean_manual_entry(raw: dict, *, now: datetime) -> ManualEntry:
    """`clean_reading` plus the fields only people send: `client_record_id` (UUID) and `is_manual_entry`."""
    errors: dict[str, list[str]] = {}
    client_record_id = None
    given_id = raw.get("client_record_id") if isinstance(raw, dict) else None
    if isinstance(given_id, uuid.UUID):
        client_record_id = given_id
    elif given_id is not None:
        try:
            client_record_id = uuid.UUID(given_id) if isinstance(given_id, str) and len(given_id) <= 36 else None
        except ValueError:
            client_record_id = None
        if client_record_id is None:
            errors["client_record_id"] = ["Must be a UUID."]
    is_manual = raw.get("is_manual_entry", True) if isinstance(raw, dict) else True
    if is_manual is None:
        is_manual = True
    if not isinstance(is_manual, bool):
        errors["is_manual_entry"] = ["Must be true or false."]
    try:
        reading = clean_reading(raw, now=now)
    except ReadingInvalid as exc:
        raise ReadingInvalid({**exc.fields, **errors}) from None
    if errors:
        raise ReadingInvalid(errors)
    return ManualEntry(reading=reading, is_manual_entry=is_manual, client_record_id=client_record_id)


def _finite(given: Any) -> float | None:
    """GIVEN as a finite float; None for anything else (bool is an int subclass, but `true` is no measurement)."""
    if type(given) not in _NUMBER_TYPES:
        return None
    try:
        number = float(given)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def parse_recorded_at(given: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 string with offset (or a datetime); None when naive or malformed."""
    return parse_recorded_at_with_offset(given)[0]


def parse_recorded_at_with_offset(given: Any) -> tuple[datetime | None, int]:
    """(GIVEN in UTC, the UTC offset it was written with in whole minutes); (None, 0) when naive or malformed."""
    if isinstance(given, datetime):
        moment = given
    elif isinstance(given, str) and 10 <= len(given) <= 40:
        try:
            moment = datetime.fromisoformat(given)
        except ValueError:
            return None, 0
    else:
        return None, 0
    offset = moment.utcoffset() if moment.tzinfo is not None else None
    if offset is None:
        return None, 0
    return moment.astimezone(UTC), int(offset.total_seconds() // 60)


def _recorded_at(given: Any, now: datetime, errors: dict) -> datetime:
    if given is None:
        errors["recorded_at"] = ["This field is required."]
        return now
    moment = parse_recorded_at(given)
    if moment is None:
        errors["recorded_at"] = ["Must be an ISO 8601 date and time with a UTC offset, e.g. 2025-07-24T12:00:00Z."]
        return now
    if moment > now + CLOCK_SKEW:
        errors["recorded_at"] = ["Cannot be in the future."]
    elif moment < EARLIEST:
        errors["recorded_at"] = ["Cannot be before 1970."]
    return moment


def _ended_at(given: Any, spec, recorded_at: datetime, errors: dict) -> datetime | None:
    if given is None:
        return None
    if spec.target_aggregate != "sum":
        errors["ended_at"] = [f"Only steps, calories and sleep_hours take ended_at, not {spec.metric_type}."]
        return None
    moment = parse_recorded_at(given)
    if moment is None:
        errors["ended_at"] = ["Must be an ISO 8601 date and time with a UTC offset, e.g. 2025-07-24T12:00:00Z."]
    elif "recorded_at" not in errors and not recorded_at <= moment <= recorded_at + MAX_INTERVAL:
        errors["ended_at"] = ["Must be at or after recorded_at and at most 24 hours after it."]
    return moment


def _notes(given: Any, errors: dict) -> str:
    if given is None:
        return ""
    if not isinstance(given, str):
        errors["notes"] = ["Must be a string."]
        return ""
    if len(given) > NOTES_MAX_LENGTH:
        errors["notes"] = [f"Must be at most {NOTES_MAX_LENGTH} characters."]
    return given


def _metadata(given: Any, errors: dict) -> dict:
    if given is None:
        return {}
    if not isinstance(given, dict):
        errors["metadata"] = ["Must be a JSON object."]
        return {}
    if not given:
        return given
    if len(given) > METADATA_MAX_KEYS:
        errors["metadata"] = [f"At most {METADATA_MAX_KEYS} keys."]
    elif _depth(given) > METADATA_MAX_DEPTH:
        errors["metadata"] = [f"At most {METADATA_MAX_DEPTH} levels of nesting."]
    else:
        try:
            size = len(orjson.dumps(given))
        except TypeError:
            errors["metadata"] = ["Must be plain JSON."]
            return {}
        if size > METADATA_MAX_BYTES:
            errors["metadata"] = [f"At most {METADATA_MAX_BYTES} bytes of JSON."]
    return given


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth of containers; stops descending once past the limit."""
    if level > METADATA_MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value
    deepest = level
    for child in children:
        if isinstance(child, dict | list):
            deepest = max(deepest, _depth(child, level + 1))
    return deepest


def _not_for_type(name: str, metric_type: str) -> str:
    if name == VALUE:
        return f"{metric_type} takes systolic_value and diastolic_value, not value."
    return f"{metric_type} takes value, not {name}."
