"""Files of each import format, made the way the apps that write them do (shapes in the issue and API.md)."""

from __future__ import annotations

import io
import zipfile

import orjson

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2025-01-02 10:00:00 -0500"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-01-01"/>
"""
WATCH = "Ada&apos;s Apple Watch"


def record(
    kind: str, value, unit: str, start: str, end: str | None = None, source: str = WATCH, extra: str = ""
) -> str:
    return (
        f' <Record type="{kind}" sourceName="{source}" sourceVersion="11.2" device="&lt;&lt;HKDevice&gt;&gt;" '
        f'unit="{unit}" creationDate="{start}" startDate="{start}" endDate="{end or start}" value="{value}">{extra}'
        "</Record>\n"
    )


def blood_pressure(systolic, diastolic, at: str, source: str = "Omron") -> str:
    inner = record("HKQuantityTypeIdentifierBloodPressureSystolic", systolic, "mmHg", at, source=source) + record(
        "HKQuantityTypeIdentifierBloodPressureDiastolic", diastolic, "mmHg", at, source=source
    )
    correlation = (
        f' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="{source}" '
        f'creationDate="{at}" startDate="{at}" endDate="{at}">\n{inner} </Correlation>\n'
    )
    # Apple also writes the two records loose, beside the correlation.
    return correlation + inner


def sleep(value: str, start: str, end: str) -> str:
    return (
        f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{WATCH}" creationDate="{end}" '
        f'startDate="{start}" endDate="{end}" value="{value}"/>\n'
    )


def apple_export(body: str) -> bytes:
    return (HEADER + body + "</HealthData>\n").encode()


SAMPLE_BODY = (
    record("HKQuantityTypeIdentifierHeartRate", 62, "count/min", "2025-01-01 08:00:00 -0500",
           extra='<MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>')
    + record("HKQuantityTypeIdentifierBodyMass", 154.3, "lb", "2025-01-01 07:00:00 -0500", source="Withings")
    + record("HKQuantityTypeIdentifierBloodGlucose", 5.5, "mmol&lt;180.1558800000541&gt;/L",
             "2025-01-01 07:10:00 -0500")
    + record("HKQuantityTypeIdentifierBodyTemperature", 98.6, "degF", "2025-01-01 07:20:00 -0500")
    + record("HKQuantityTypeIdentifierOxygenSaturation", 0.97, "%", "2025-01-01 07:30:00 -0500")
    + record("HKQuantityTypeIdentifierStepCount", 420, "count", "2025-01-01 09:00:00 -0500",
             "2025-01-01 09:10:00 -0500")
    + record("HKQuantityTypeIdentifierActiveEnergyBurned", 35.5, "Cal", "2025-01-01 09:00:00 -0500",
             "2025-01-01 09:10:00 -0500")
    + record("HKQuantityTypeIdentifierBasalEnergyBurned", 12, "kcal", "2025-01-01 09:00:00 -0500",
             "2025-01-01 09:10:00 -0500")
    + record("HKQuantityTypeIdentifierBodyMassIndex", 23.4, "count", "2025-01-01 07:00:00 -0500", source="Withings")
    + record("HKQuantityTypeIdentifierBodyFatPercentage", 0.22, "%", "2025-01-01 07:00:00 -0500", source="Withings")
    + record("HKQuantityTypeIdentifierLeanBodyMass", 52.1, "kg", "2025-01-01 07:00:00 -0500", source="Withings")
    + blood_pressure(128, 82, "2025-01-01 07:40:00 -0500")
    + sleep("HKCategoryValueSleepAnalysisInBed", "2024-12-31 22:30:00 -0500", "2025-01-01 06:30:00 -0500")
    + sleep("HKCategoryValueSleepAnalysisAsleepCore", "2024-12-31 23:00:00 -0500", "2025-01-01 02:00:00 -0500")
    + sleep("HKCategoryValueSleepAnalysisAwake", "2025-01-01 02:00:00 -0500", "2025-01-01 02:30:00 -0500")
    + sleep("HKCategoryValueSleepAnalysisAsleepDeep", "2025-01-01 02:30:00 -0500", "2025-01-01 04:00:00 -0500")
    + sleep("HKCategoryValueSleepAnalysisAsleepREM", "2025-01-01 04:00:00 -0500", "2025-01-01 06:00:00 -0500")
    + ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" sourceName="x"/>\n'
    + ' <ActivitySummary dateComponents="2025-01-01" activeEnergyBurned="300"/>\n'
)  # fmt: skip
# Every type above once, blood pressure once (the loose systolic/diastolic skipped), sleep as one night of 6.5 h.
SAMPLE_COUNTS = {
    "blood_pressure": 1,
    "blood_sugar": 1,
    "bmi": 1,
    "body_fat_percentage": 1,
    "calories": 2,
    "heart_rate": 1,
    "muscle_mass": 1,
    "oxygen_saturation": 1,
    "sleep_hours": 1,
    "steps": 1,
    "temperature": 1,
    "weight": 1,
}


def apple_zip(xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", xml)
        archive.writestr("apple_health_export/export_cda.xml", b"<ClinicalDocument/>")
    return buffer.getvalue()


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE HealthData [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<HealthData locale="en_US"><Record type="HKQuantityTypeIdentifierHeartRate" sourceName="&c;" unit="count/min"
 startDate="2025-01-01 08:00:00 -0500" endDate="2025-01-01 08:00:00 -0500" value="62"/></HealthData>
"""


def health_connect(records: list[dict]) -> bytes:
    return orjson.dumps({"records": records})


HEALTH_CONNECT_RECORDS = [
    {"type": "HeartRate", "start_time": "2025-02-01T08:00:00+01:00", "value": 58, "unit": "beats_per_minute",
     "source": "com.fitbit.FitbitMobile", "id": "hr-1"},
    {"type": "BloodPressure", "start_time": "2025-02-01T08:05:00+01:00", "systolic": 121, "diastolic": 79,
     "unit": "millimeters_of_mercury", "source": "com.omronhealthcare.omronconnect", "id": "bp-1"},
    {"type": "Steps", "start_time": "2025-02-01T09:00:00+01:00", "end_time": "2025-02-01T10:00:00+01:00",
     "value": 1800, "unit": "count", "source": "com.google.android.apps.fitness", "id": "st-1"},
    {"type": "SleepSession", "start_time": "2025-01-31T23:00:00+01:00", "end_time": "2025-02-01T06:30:00+01:00",
     "value": 7.5, "unit": "hours", "source": "com.google.android.apps.fitness", "id": "sl-1"},
    {"type": "Weight", "start_time": "2025-02-01T07:00:00+01:00", "value": 70.2, "unit": "kilograms",
     "source": "com.withings.wiscale2", "id": "w-1"},
]  # fmt: skip


def fhir_bundle(observations: list[dict]) -> bytes:
    return orjson.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in observations]}
    )


def observation(loinc: str, value: float, unit: str, at: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": at,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }
