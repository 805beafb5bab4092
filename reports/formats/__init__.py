"""The report formats by name (`Report.format`)."""

from __future__ import annotations

from .base import ReportFormat
from .csv import CsvFormat
from .pdf import PdfFormat

FORMATS: dict[str, ReportFormat] = {fmt.name: fmt for fmt in (PdfFormat(), CsvFormat())}


def format_for(name: str) -> ReportFormat:
    return FORMATS[name]
