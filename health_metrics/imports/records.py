"""What every import format yields: records in the shape `validation.clean_reading` reads, with their source
and position in the file; and the errors that end an import or refuse one record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

# Identity of an imported record (API.md: its source, type, times and value): a UUID made from them, stored as
# the reading's `client_record_id`, so the (user, client_record_id) key makes a re-import store nothing.
_IDENTITY = uuid.UUID("6f1c4d0e-2b7a-4f43-9a55-0d9c8b1e7a21")


class FileInvalid(Exception):
    """The file is not what its format says, or not whole: the import fails and stores nothing."""


@dataclass(slots=True)
class Record:
    """One record: POSITION (1-based, in the file's own order), the app or device that wrote it (SOURCE), the
    reading as plain data (RAW, for clean_reading), and an id of ours it carries (a FHIR round trip)."""

    position: int
    source: str
    raw: dict[str, Any]
    kind: str = ""
    reading_id: uuid.UUID | None = None
    problem: str = ""
    extra: dict = field(default_factory=dict)

    def identity(self) -> uuid.UUID:
        raw = self.raw
        parts = (
            self.source,
            self.kind or raw.get("metric_type"),
            raw.get("recorded_at"),
            raw.get("ended_at"),
            raw.get("value"),
            raw.get("systolic_value"),
            raw.get("diastolic_value"),
            raw.get("unit"),
        )
        return uuid.uuid5(_IDENTITY, "|".join("" if p is None else str(p) for p in parts))
