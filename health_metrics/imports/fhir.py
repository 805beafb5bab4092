"""A FHIR R4 Bundle of Observations, the inverse of the FHIR export (reports.interop.fhir writes it): the type
from the catalog's LOINC code, the value from `valueQuantity` (blood pressure: the systolic 8480-6 and diastolic
8462-4 components) with its UCUM unit, the time from `effectiveDateTime` (or `effectivePeriod`).

An Observation that carries our own identifier (`urn:jeghealth:id`, as the export writes) keeps that id: a
round trip finds the reading already stored under it and stores nothing twice. Other entries (the Patient, a
Device) are skipped; an Observation whose code the catalog does not know is listed as an error.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import IO

import orjson

from jeghealth_backend.metric_catalog import CATALOG

from .records import FileInvalid, Record

OWN_IDENTIFIER = "urn:jeghealth:id"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
_BY_LOINC = {spec.loinc: spec for spec in CATALOG.values()}


def load(stream: IO[bytes]) -> list:
    """The bundle's entries; raises FileInvalid when the file is not a FHIR Bundle."""
    try:
        bundle = orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise FileInvalid(f"The file is not JSON: {exc}.") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FileInvalid("The file is not a FHIR Bundle (resourceType must be Bundle).")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FileInvalid("The Bundle's entry must be a list.")
    return entries


def records(entries: list) -> Iterator[Record]:
    for position, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            continue
        yield _observation(position, resource)


def _codes(concept) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [c.get("code") for c in codings or [] if isinstance(c, dict)]


def _quantity(holder) -> tuple[object, object]:
    quantity = holder.get("valueQuantity") if isinstance(holder, dict) else None
    if not isinstance(quantity, dict):
        return None, None
    return quantity.get("value"), quantity.get("code") or quantity.get("unit")


def _observation(position: int, resource: dict) -> Record:
    spec = next((_BY_LOINC[c] for c in _codes(resource.get("code")) if c in _BY_LOINC), None)
    period = resource.get("effectivePeriod") if isinstance(resource.get("effectivePeriod"), dict) else {}
    raw: dict = {"recorded_at": resource.get("effectiveDateTime") or period.get("start")}
    source = "FHIR"
    device = resource.get("device")
    if isinstance(device, dict) and isinstance(device.get("display"), str):
        source = device["display"][:128]
    record = Record(position, source, raw)
    if spec is None:
        record.problem = "The Observation's code is not a LOINC code of a metric type this service keeps."
        return record
    raw["metric_type"] = spec.metric_type
    if spec.is_blood_pressure:
        for component in resource.get("component") or []:
            value, unit = _quantity(component)
            codes = _codes(component.get("code")) if isinstance(component, dict) else []
            if SYSTOLIC in codes:
                raw["systolic_value"], raw["unit"] = value, unit
            elif DIASTOLIC in codes:
                raw["diastolic_value"] = value
    else:
        raw["value"], raw["unit"] = _quantity(resource)
    if spec.target_aggregate == "sum" and period.get("end") and period.get("end") != raw["recorded_at"]:
        raw["ended_at"] = period["end"]
    notes = resource.get("note")
    if isinstance(notes, list) and notes and isinstance(notes[0], dict) and isinstance(notes[0].get("text"), str):
        raw["notes"] = notes[0]["text"]
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == OWN_IDENTIFIER:
            with contextlib.suppress(ValueError):
                record.reading_id = uuid.UUID(str(identifier.get("value")))
    return record
