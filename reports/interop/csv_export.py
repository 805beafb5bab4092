"""Readings as CSV, one row per reading, produced lazily so that any history streams in flat memory.

The queryset is read with `.values_list(...).iterator(chunk_size=…)` (a server-side cursor on PostgreSQL): no
model instances and never more than one chunk of rows in memory. Rows are grouped into blocks of text so that a
streamed answer is not one write per reading. Free-text cells that a spreadsheet would run as a formula are
prefixed with an apostrophe (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from health_metrics.fields import CSV_FIELDS, column
from health_metrics.models import HealthMetric

CHUNK_SIZE = 500
ROWS_PER_BLOCK = 250
# The columns are the reading's CSV fields, listed once in health_metrics.fields.
HEADER = CSV_FIELDS
_FIELDS = tuple(column(name) for name in CSV_FIELDS)
_TEXT_COLUMNS = frozenset({"anomaly_reason", "notes"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(name: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if name in _TEXT_COLUMNS and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_blocks(readings: QuerySet[HealthMetric]) -> Iterator[bytes]:
    """The CSV document of READINGS (already scoped, filtered and ordered) in UTF-8 blocks, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    pending = 0
    for row in readings.values_list(*_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        writer.writerow([_cell(name, value) for name, value in zip(HEADER, row, strict=True)])
        pending += 1
        if pending >= ROWS_PER_BLOCK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()
