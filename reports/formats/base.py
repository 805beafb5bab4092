"""Report formats: one subclass of `ReportFormat` per format, one module each (pdf.py, csv.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import IO, ClassVar

from ..models import Report


class ReportFormat(ABC):
    """Writes a report of one kind of file.

    `render` reads the data of `report.subject` (the owner, or the patient a doctor named) and writes the whole
    file to OUT, a binary file opened by the caller; it touches neither the report row nor the storage, so running
    it twice is harmless. It raises on anything that makes the report impossible (a bug, data it cannot draw):
    the caller records that as the report's failure.
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]

    @abstractmethod
    def render(self, *, report: Report, out: IO[bytes], now: datetime) -> None:
        """Write REPORT's file to OUT, as of NOW."""
