"""Readings as a FHIR R4 `Bundle` (type `collection`) of `Observation` resources, with the Patient and the
Devices they refer to, streamed entry by entry.

Codes and units come from the metric catalog (health_metrics/catalog.py: LOINC code and UCUM unit per type).
What FHIR adds is below in `FHIR_PROFILES`: the observation category of each type and, for the vital signs, the
profile of the FHIR vital-signs set the observation follows. Blood pressure is one Observation (85354-9) with a
systolic (8480-6) and a diastolic (8462-4) component and no value of its own. References between entries are
`urn:uuid:` full URLs, as a bundle that is not served from a FHIR server writes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from health_metrics.fields import FHIR_FIELDS, column
from jeghealth_backend.metric_catalog import CATALOG, MetricSpec

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
IDENTIFIER_SYSTEM = "urn:jeghealth:id"
SERIAL_SYSTEM = "urn:jeghealth:device-serial"
_PROFILE = "http://hl7.org/fhir/StructureDefinition/"
BP_SYSTOLIC = ("8480-6", "Systolic blood pressure")
BP_DIASTOLIC = ("8462-4", "Diastolic blood pressure")
ENTRIES_PER_BLOCK = 200

# Per metric type: (observation category, vital-signs profile or None). Glucose is a laboratory value, steps,
# sleep and energy are activity, body composition an exam finding: those follow no vital-signs profile.
FHIR_PROFILES: dict[str, tuple[str, str | None]] = {
    "blood_pressure": ("vital-signs", _PROFILE + "bp"),
    "heart_rate": ("vital-signs", _PROFILE + "heartrate"),
    "weight": ("vital-signs", _PROFILE + "bodyweight"),
    "temperature": ("vital-signs", _PROFILE + "bodytemp"),
    "oxygen_saturation": ("vital-signs", _PROFILE + "oxygensat"),
    "bmi": ("vital-signs", _PROFILE + "bmi"),
    "blood_sugar": ("laboratory", None),
    "steps": ("activity", None),
    "sleep_hours": ("activity", None),
    "calories": ("activity", None),
    "body_fat_percentage": ("exam", None),
    "muscle_mass": ("exam", None),
}
_CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "laboratory": "Laboratory", "activity": "Activity", "exam": "Exam"}
_GENDERS = {"female": "female", "male": "male", "other": "other"}
# The fields of a reading an Observation is made of (`.values(*READING_FIELDS)`).
READING_FIELDS = tuple(column(name) for name in FHIR_FIELDS)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def urn(identifier) -> str:
    return f"urn:uuid:{identifier}"


def _quantity(value: float, spec: MetricSpec) -> dict[str, Any]:
    return {"value": value, "unit": spec.unit, "system": UCUM, "code": spec.ucum}


def _concept(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


def observation(reading: dict[str, Any], *, patient_ref: str) -> dict[str, Any] | None:
    """The Observation of one reading (a dict of READING_FIELDS), or None for a type the catalog does not know."""
    spec = CATALOG.get(reading["metric_type"])
    if spec is None:
        return None
    category, profile = FHIR_PROFILES.get(spec.metric_type, ("vital-signs", None))
    resource: dict[str, Any] = {"resourceType": "Observation", "id": str(reading["id"])}
    if profile:
        resource["meta"] = {"profile": [profile]}
    resource.update(
        {
            "identifier": [{"system": IDENTIFIER_SYSTEM, "value": str(reading["id"])}],
            "status": "final",
            "category": [
                {
                    "coding": [{"system": CATEGORY_SYSTEM, "code": category, "display": _CATEGORY_DISPLAY[category]}],
                    "text": _CATEGORY_DISPLAY[category],
                }
            ],
            "code": _concept(spec.loinc, spec.label),
            "subject": {"reference": patient_ref, "type": "Patient"},
            "effectiveDateTime": _instant(reading["recorded_at"]),
            "issued": _instant(reading["created_at"]),
        }
    )
    if spec.is_blood_pressure:
        resource["component"] = [
            {"code": _concept(*BP_SYSTOLIC), "valueQuantity": _quantity(reading["systolic_value"], spec)},
            {"code": _concept(*BP_DIASTOLIC), "valueQuantity": _quantity(reading["diastolic_value"], spec)},
        ]
    else:
        resource["valueQuantity"] = _quantity(reading["value"], spec)
    if reading["is_anomaly"]:
        resource["interpretation"] = [
            {
                "coding": [{"system": INTERPRETATION_SYSTEM, "code": "A", "display": "Abnormal"}],
                "text": reading["anomaly_reason"] or "Abnormal",
            }
        ]
    if reading["device_id"]:
        resource["device"] = {"reference": urn(reading["device_id"]), "type": "Device"}
    if reading["notes"]:
        resource["note"] = [{"text": reading["notes"]}]
    return resource


def patient(user) -> dict[str, Any]:
    """The Patient resource of USER (a person with their profile)."""
    profile = getattr(user, "profile", None)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(user.pk),
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": str(user.pk)}],
        "active": bool(user.is_active),
        "telecom": [{"system": "email", "value": user.email}],
        "gender": _GENDERS.get(getattr(profile, "gender", "") or "", "unknown"),
    }
    # FHIR allows no empty strings or arrays: a name part the person did not give is left out.
    name = {"use": "official"}
    if user.last_name:
        name["family"] = user.last_name
    if user.first_name:
        name["given"] = [user.first_name]
    if len(name) > 1:
        resource["name"] = [name]
    if user.phone_number:
        resource["telecom"].append({"system": "phone", "value": user.phone_number})
    if user.date_of_birth:
        resource["birthDate"] = user.date_of_birth.isoformat()
    return resource


def device(item, *, patient_ref: str) -> dict[str, Any]:
    """The Device resource of a paired device (iot_devices.models.IoTDevice)."""
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": str(item.pk),
        "identifier": [{"system": SERIAL_SYSTEM, "value": item.serial_number}],
        "status": "active" if item.status == "active" else "inactive",
        "serialNumber": item.serial_number,
        "deviceName": [{"name": item.name, "type": "user-friendly-name"}],
        "type": {"text": item.get_device_type_display()},
        "patient": {"reference": patient_ref, "type": "Patient"},
    }
    if item.manufacturer:
        resource["manufacturer"] = item.manufacturer
    if item.model:
        resource["modelNumber"] = item.model
    if item.firmware_version:
        resource["version"] = [{"value": item.firmware_version}]
    return resource


def _entry(resource: dict[str, Any]) -> bytes:
    return orjson.dumps({"fullUrl": urn(resource["id"]), "resource": resource})


def bundle_blocks(*, user, devices: Iterable, readings: Iterable[dict[str, Any]], now: datetime) -> Iterator[bytes]:
    """The Bundle as JSON in blocks: the Patient, then each Device, then one Observation per reading."""
    patient_ref = urn(user.pk)
    head = orjson.dumps(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": _instant(now)},
            "type": "collection",
            "timestamp": _instant(now),
        }
    )
    parts = [head[:-1] + b',"entry":[', _entry(patient(user))]
    for item in devices:
        parts.append(b"," + _entry(device(item, patient_ref=patient_ref)))
    for reading in readings:
        resource = observation(reading, patient_ref=patient_ref)
        if resource is None:
            continue
        parts.append(b"," + _entry(resource))
        if len(parts) >= ENTRIES_PER_BLOCK:
            yield b"".join(parts)
            parts = []
    parts.append(b"]}")
    yield b"".join(parts)
