"""Health Connect JSON in the shape of the contract: `{"records": [{"type", "start_time", "end_time?", "value" or
"systolic"/"diastolic", "unit", "source", "id"}]}`. Types are Health Connect's record types; units go through
the catalog (Health Connect's spellings below are mapped to its names)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import orjson

from .records import FileInvalid, Record

TYPES = {
    "HeartRate": "heart_rate",
    "BloodPressure": "blood_pressure",
    "Weight": "weight",
    "BloodGlucose": "blood_sugar",
    "BodyTemperature": "temperature",
    "OxygenSaturation": "oxygen_saturation",
    "Steps": "steps",
    "SleepSession": "sleep_hours",
    "TotalCaloriesBurned": "calories",
    "BodyFat": "body_fat_percentage",
    "LeanBodyMass": "muscle_mass",
}
INTERVAL_TYPES = frozenset({"steps", "sleep_hours", "calories"})
UNITS = {"beats_per_minute": "bpm", "kilograms": "kg", "pounds": "lb", "millimeters_of_mercury": "mmHg",
         "milligrams_per_deciliter": "mg/dL", "millimoles_per_liter": "mmol/L", "celsius": "celsius",
         "fahrenheit": "fahrenheit", "percent": "%", "count": "steps", "kilocalories": "kcal"}  # fmt: skip


def load(stream: IO[bytes]) -> list:
    try:
        document = orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise FileInvalid(f"The file is not JSON: {exc}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise FileInvalid('The file is not Health Connect JSON: {"records": [...]} expected.')
    return document["records"]


def records(items: list) -> Iterator[Record]:
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield Record(position, "", {}, problem="Each record must be a JSON object.")
            continue
        source = item.get("source") if isinstance(item.get("source"), str) else "Health Connect"
        metric_type = TYPES.get(item.get("type"))
        record = Record(position, source[:128], {"recorded_at": item.get("start_time")})
        if metric_type is None:
            record.problem = f"Unknown Health Connect record type; use one of {', '.join(TYPES)}."
            yield record
            continue
        raw = record.raw
        raw["metric_type"] = metric_type
        unit = item.get("unit")
        raw["unit"] = UNITS.get(unit, unit) if isinstance(unit, str) else unit
        if metric_type == "blood_pressure":
            raw["systolic_value"], raw["diastolic_value"] = item.get("systolic"), item.get("diastolic")
        else:
            raw["value"] = item.get("value")
        if metric_type in INTERVAL_TYPES and item.get("end_time") and item.get("end_time") != item.get("start_time"):
            raw["ended_at"] = item["end_time"]
        yield record
