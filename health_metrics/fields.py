"""The fields of a reading, listed once: the API answer (serializer), the person's export, the CSV export and
the admin list all read them from here, so a new column is added (or kept out) in one place.

Names are the API's; `column` gives the model attribute behind one (`device` is `device_id`).
"""

from __future__ import annotations

# What the API answers for a reading, in order (HealthMetricSerializer).
READING_FIELDS = (
    "id",
    "metric_type",
    "value",
    "systolic_value",
    "diastolic_value",
    "unit",
    "entered_value",
    "entered_unit",
    "recorded_at",
    "recorded_offset_minutes",
    "ended_at",
    "source",
    "source_name",
    "device",
    "is_manual_entry",
    "quality",
    "is_anomaly",
    "anomaly_reason",
    "notes",
    "metadata",
    "client_record_id",
    "created_at",
)
# `auth/export/` holds everything the service keeps of a reading: the answer plus the id of our batch row.
EXPORT_FIELDS = (*READING_FIELDS, "device_data_batch_id")
# One CSV row per reading: the answer less the entered value, the metadata and the bookkeeping columns.
CSV_FIELDS = tuple(
    name
    for name in READING_FIELDS
    if name not in ("entered_value", "entered_unit", "is_manual_entry", "metadata", "client_record_id", "created_at")
)
# What a FHIR Observation is made of (reports.interop.fhir); the import reads back the same (fhir_import.py).
FHIR_FIELDS = (
    "id",
    "metric_type",
    "value",
    "systolic_value",
    "diastolic_value",
    "recorded_at",
    "created_at",
    "device",
    "is_anomaly",
    "anomaly_reason",
    "notes",
)
# The admin's change list (the detail page shows every model field).
ADMIN_LIST_FIELDS = (
    "metric_type",
    "value",
    "systolic_value",
    "diastolic_value",
    "unit",
    "recorded_at",
    "source",
    "source_name",
    "quality",
    "is_anomaly",
)

_COLUMNS = {"device": "device_id"}


def column(name: str) -> str:
    """The model attribute of the field NAME."""
    return _COLUMNS.get(name, name)
