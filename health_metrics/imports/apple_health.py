"""Apple Health's export (`export.zip` holding `apple_health_export/export.xml`, or the XML alone), read
streaming: `iterparse` from defusedxml (entity declarations refused: no billion laughs; no external entities),
every element cleared once read, so memory stays flat for an export of several GB.

Mappings: HealthKit quantity types to our metric types, blood pressure from its correlation (the systolic and
diastolic records inside it; the loose copies Apple also writes are skipped), sleep analysis as hours asleep
per night and source (the asleep intervals summed, from the first start to the last end), active and basal
energy both as calories. Units go through the catalog (the HealthKit spellings below are mapped to the catalog's
names; oxygen saturation and body fat are fractions in HealthKit). `Workout`, `ActivitySummary` and types not
listed are skipped.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .records import FileInvalid, Record

QUANTITY_TYPES = {
    "HKQuantityTypeIdentifierHeartRate": "heart_rate",
    "HKQuantityTypeIdentifierBodyMass": "weight",
    "HKQuantityTypeIdentifierBloodGlucose": "blood_sugar",
    "HKQuantityTypeIdentifierBodyTemperature": "temperature",
    "HKQuantityTypeIdentifierOxygenSaturation": "oxygen_saturation",
    "HKQuantityTypeIdentifierStepCount": "steps",
    "HKQuantityTypeIdentifierActiveEnergyBurned": "calories",
    "HKQuantityTypeIdentifierBasalEnergyBurned": "calories",
    "HKQuantityTypeIdentifierBodyMassIndex": "bmi",
    "HKQuantityTypeIdentifierBodyFatPercentage": "body_fat_percentage",
    "HKQuantityTypeIdentifierLeanBodyMass": "muscle_mass",
}
BLOOD_PRESSURE = "HKCorrelationTypeIdentifierBloodPressure"
SYSTOLIC = "HKQuantityTypeIdentifierBloodPressureSystolic"
DIASTOLIC = "HKQuantityTypeIdentifierBloodPressureDiastolic"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
ASLEEP = frozenset(
    {
        "HKCategoryValueSleepAnalysisAsleep",
        "HKCategoryValueSleepAnalysisAsleepCore",
        "HKCategoryValueSleepAnalysisAsleepDeep",
        "HKCategoryValueSleepAnalysisAsleepREM",
        "HKCategoryValueSleepAnalysisAsleepUnspecified",
    }
)
INTERVAL_TYPES = frozenset({"steps", "calories"})
# HealthKit's unit spellings that the catalog does not know by that name.
UNITS = {"count/min": "bpm", "Cal": "kcal", "count": None, "%": "fraction"}
FRACTION_TYPES = frozenset({"oxygen_saturation", "body_fat_percentage"})
MEMBER = "export.xml"


def open_export(stream: IO[bytes]) -> IO[bytes]:
    """The export.xml of STREAM: the file itself, or the member of a zip. Raises FileInvalid."""
    head = stream.read(4)
    stream.seek(0)
    if head[:2] != b"PK":
        return stream
    try:
        archive = zipfile.ZipFile(stream)
        names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == MEMBER]
        if not names:
            raise FileInvalid("The zip holds no export.xml (Apple Health writes apple_health_export/export.xml).")
        return archive.open(min(names, key=len))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileInvalid(f"The zip is not whole: {exc}.") from None


def check_whole(stream: IO[bytes]) -> None:
    """Read the whole export once (well-formed XML, a HealthData root, a whole zip); raise FileInvalid."""
    for element in _elements(stream):
        if element.tag in ("Record", "Correlation", "Workout", "ActivitySummary"):
            element.clear()


def _moment(text: str | None) -> str | None:
    """Apple's `2025-01-01 08:00:00 -0500` as ISO 8601 (`2025-01-01T08:00:00-05:00`); the offset is kept."""
    if not text or len(text) != 25:
        return text
    return f"{text[:10]}T{text[11:19]}{text[20:23]}:{text[23:25]}"


def records(stream: IO[bytes]) -> Iterator[Record]:
    """The records of the export in file order (sleep nights last). Positions count `Record` and `Correlation`
    elements from 1."""
    position = 0
    nights: dict[tuple[str, str], list] = {}
    for element in _elements(stream):
        tag = element.tag
        if tag == "Record":
            position += 1
            if element.get("_inside"):
                continue  # part of a correlation: read with it
            record_type = element.get("type")
            metric_type = QUANTITY_TYPES.get(record_type)
            if metric_type is not None:
                yield _quantity(position, element, metric_type, record_type)
            elif record_type == SLEEP and element.get("value") in ASLEEP:
                _add_sleep(nights, position, element)
            element.clear()
        elif tag == "Correlation":
            position += 1
            if element.get("type") == BLOOD_PRESSURE:
                yield _blood_pressure(position, element)
            element.clear()
        elif tag in ("Workout", "ActivitySummary"):
            element.clear()
    for (source, _night), (first_position, start, end, seconds) in nights.items():
        raw = {"metric_type": "sleep_hours", "value": round(seconds / 3600, 4), "unit": "hours"}
        raw.update(recorded_at=start, ended_at=end)
        yield Record(first_position, source, raw, kind="sleep")


def _elements(stream: IO[bytes]):
    """End events of elements, the Records inside a Correlation marked (`_inside`). Raises FileInvalid."""
    depth_correlation = 0
    depth = 0
    root = None
    xml = open_export(stream)
    try:
        for event, element in iterparse(xml, events=("start", "end")):
            tag = element.tag
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                    if tag != "HealthData":
                        raise FileInvalid("This is not an Apple Health export (its root is not HealthData).")
                elif tag == "Correlation":
                    depth_correlation += 1
                elif tag == "Record" and depth_correlation:
                    element.set("_inside", "1")
                continue
            depth -= 1
            if tag == "Correlation":
                depth_correlation -= 1
            yield element
            if depth == 1:
                root.clear()  # the (cleared) children would otherwise pile up under the root
    except (ParseError, DefusedXmlException) as exc:
        raise FileInvalid(f"The XML is not well-formed or declares entities: {exc}.") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileInvalid(f"The zip is not whole: {exc}.") from None
    if root is None:
        raise FileInvalid("The file holds no XML.")


def _quantity(position: int, element, metric_type: str, record_type: str) -> Record:
    unit = element.get("unit")
    mapped = UNITS.get(unit, unit)
    if unit == "%" and metric_type not in FRACTION_TYPES:
        mapped = "%"
    if mapped is not None and mapped.startswith("mmol<"):
        mapped = "mmol/L"  # HealthKit writes the molar mass into the unit: mmol<180.1558800000541>/L
    raw: dict = {"metric_type": metric_type, "value": _number(element.get("value")), "unit": mapped}
    start, end = _moment(element.get("startDate")), _moment(element.get("endDate"))
    raw["recorded_at"] = start
    if metric_type in INTERVAL_TYPES and end and end != start:
        raw["ended_at"] = end
    return Record(position, element.get("sourceName") or "Apple Health", raw, kind=record_type)


def _blood_pressure(position: int, element) -> Record:
    values = {child.get("type"): _number(child.get("value")) for child in element.iter("Record")}
    raw = {
        "metric_type": "blood_pressure",
        "systolic_value": values.get(SYSTOLIC),
        "diastolic_value": values.get(DIASTOLIC),
        "unit": "mmHg",
        "recorded_at": _moment(element.get("startDate")),
    }
    return Record(position, element.get("sourceName") or "Apple Health", raw, kind=BLOOD_PRESSURE)


def _add_sleep(nights: dict, position: int, element) -> None:
    start, end = _moment(element.get("startDate")), _moment(element.get("endDate"))
    try:
        began, ended = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except (TypeError, ValueError):
        return
    key = (element.get("sourceName") or "Apple Health", end[:10])  # the night is named by the local wake-up date
    seconds = max((ended - began).total_seconds(), 0)
    entry = nights.get(key)
    if entry is None:
        nights[key] = [position, start, end, seconds]
    else:
        entry[1] = min(entry[1], start, key=datetime.fromisoformat)
        entry[2] = max(entry[2], end, key=datetime.fromisoformat)
        entry[3] += seconds


def _number(text: str | None):
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # clean_reading names it: "A number is required."
