"""Working hours, days off and free slots: pure time arithmetic in the provider's time zone.

Working hours are wall-clock times of the provider's zone (`09:00`–`17:00` stays 09:00–17:00 across a DST
change, its UTC offset moves). Everything after the conversion to aware datetimes is done on absolute time, so a
slot is always `consultation_minutes` of real time, also on the night the clocks change.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError

MAX_WORKING_HOURS_ENTRIES = 28
MAX_DAYS_OFF = 366
DEFAULT_CONSULTATION_MINUTES = 30
# How far ahead one can book (and see slots): a practice's calendar, not a date arithmetic edge case.
BOOKING_HORIZON_DAYS = 730
# Monday to Friday, 09:00–17:00: what a provider profile starts with until the doctor sets their own hours.
DEFAULT_WORKING_HOURS = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


@dataclass(frozen=True, order=True)
class Span:
    """A half-open interval [start, end) of aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


def parse_hhmm(value: str) -> time:
    return datetime.strptime(value, "%H:%M").time()  # noqa: DTZ007 - a wall-clock time, no date or zone


def validate_working_hours(value) -> None:
    """Model-level check of the stored JSON: `[{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}]`.

    Start before end on the same day, and no two entries of one weekday overlapping.
    """
    if not isinstance(value, list) or len(value) > MAX_WORKING_HOURS_ENTRIES:
        raise ValidationError(f"Working hours are a list of at most {MAX_WORKING_HOURS_ENTRIES} entries.")
    by_day: dict[int, list[tuple[time, time]]] = {}
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"weekday", "start", "end"}:
            raise ValidationError('Each entry is {"weekday", "start", "end"}.')
        weekday = entry["weekday"]
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise ValidationError("weekday is 0 (Monday) to 6 (Sunday).")
        try:
            start, end = parse_hhmm(entry["start"]), parse_hhmm(entry["end"])
        except (TypeError, ValueError):
            raise ValidationError("start and end are HH:MM.") from None
        if start >= end:
            raise ValidationError("start is before end, on the same day.")
        by_day.setdefault(weekday, []).append((start, end))
    for ranges in by_day.values():
        ranges.sort()
        for (_, previous_end), (next_start, _) in itertools.pairwise(ranges):
            if next_start < previous_end:
                raise ValidationError("Working hours of one weekday overlap.")


def validate_days_off(value) -> None:
    """Model-level check of the stored JSON: a list of distinct `YYYY-MM-DD` dates."""
    if not isinstance(value, list) or len(value) > MAX_DAYS_OFF:
        raise ValidationError(f"Days off are a list of at most {MAX_DAYS_OFF} dates.")
    try:
        dates = [date.fromisoformat(item) for item in value]
    except (TypeError, ValueError):
        raise ValidationError("Days off are dates (YYYY-MM-DD).") from None
    if len(set(dates)) != len(dates):
        raise ValidationError("A day off is listed twice.")


def local_datetime(day: date, wall: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """DAY at WALL in TZ, as UTC. A wall time skipped by a DST change falls forward by the size of the gap."""
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def working_spans(
    *, working_hours: Iterable[dict], days_off: Iterable[str], tz: zoneinfo.ZoneInfo, day: date
) -> list[Span]:
    """The working spans of the provider's local calendar DAY (none on a day off), in UTC, sorted."""
    if day.isoformat() in set(days_off):
        return []
    spans = [
        Span(local_datetime(day, parse_hhmm(entry["start"]), tz), local_datetime(day, parse_hhmm(entry["end"]), tz))
        for entry in working_hours
        if entry["weekday"] == day.weekday()
    ]
    return sorted(span for span in spans if span.start < span.end)


def free_slots(*, working: Sequence[Span], busy: Sequence[Span], length: timedelta, not_before: datetime) -> list[Span]:
    """Slots of LENGTH laid end to end from the start of each working span, minus those overlapping BUSY.

    The grid is fixed (it does not shift around an appointment of unusual length), so the slots a patient sees
    stay put while others book. Slots starting at or before NOT_BEFORE (now) are left out.
    """
    slots = []
    for span in working:
        start = span.start
        while start + length <= span.end:
            slot = Span(start, start + length)
            if start > not_before and not any(slot.overlaps(b) for b in busy):
                slots.append(slot)
            start += length
    return slots
