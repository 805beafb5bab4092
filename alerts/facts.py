"""The facts other apps hand to the alert rules: plain values, so that alerts knows no other app's models.

Health metrics judges its readings (clinical thresholds, the personal baseline) and passes one `ReadingFact` per
stored reading, flagged or not: a reading back in range is what closes an episode. Devices pass a
`DeviceCondition` when a condition starts or ends; medications pass the doses found missed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class ReadingFact(NamedTuple):  # a tuple: one is made per stored reading, thousands per device batch
    """One stored reading, in its canonical unit, and what health metrics' detector found in it.

    `clinical` is the most severe level (`critical`/`warning`/`info`) of the METRICS.md thresholds it crosses,
    with `clinical_reasons` saying which; `clinical_excess` is how far beyond the crossed bound it lies, as a share
    of that bound (0 when none). `baseline_z` is the absolute robust z-score when the personal-baseline detector
    flagged it, else None. A suspect reading (a likely measurement error) is judged but drives no episode.
    """

    reading_id: uuid.UUID
    metric_type: str
    recorded_at: datetime
    value: float | None
    systolic_value: float | None
    diastolic_value: float | None
    unit: str
    suspect: bool = False
    clinical: str | None = None
    clinical_reasons: tuple[str, ...] = ()
    clinical_excess: float = 0.0
    baseline_z: float | None = None

    @property
    def values(self) -> dict[str, float]:
        if self.value is not None:
            return {"value": self.value}
        return {"systolic_value": self.systolic_value, "diastolic_value": self.diastolic_value}


@dataclass(frozen=True, slots=True)
class Upload:
    """The write a set of readings came with; the digest of readings too old to alert on is one per upload.

    `key` is stable across redeliveries of the same work (the device batch, or the pending check of an API
    write), which makes the digest's dedupe key. `batch_id` is the device batch's id (the one its 202 answer gave),
    None for readings written through the API.
    """

    key: str
    batch_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class DeviceCondition:
    """A device of OWNER_ID started (`active`) or stopped being offline or low on battery, at AT."""

    owner_id: uuid.UUID
    device_id: uuid.UUID
    device_name: str
    rule: str
    active: bool
    at: datetime
    battery_level: int | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MissedDose:
    """A dose of a regimen that was due at SCHEDULED_FOR and was not logged within the grace window."""

    user_id: uuid.UUID
    regimen_id: uuid.UUID
    scheduled_for: datetime
