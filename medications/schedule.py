"""A regimen's schedule: normalising what a person sends, and deriving the instants of its doses.

Schedule times are wall-clock times in the person's profile timezone, so an 08:00 dose stays at 08:00 local on
both sides of a DST change (its UTC instant moves by an hour). A time that does not exist on a spring-forward day
(02:30 in New York) is taken at the same distance past the gap (03:30); a time that occurs twice on a fall-back
day is taken once, at its first occurrence. A dose scheduled on local day D always falls on local day D.

Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from .choices import Frequency
from .exceptions import ScheduleInvalid, field_error

if TYPE_CHECKING:
    from .models import Regimen

DOSES_PER_DAY = {
    Frequency.ONCE_DAILY: 1,
    Frequency.TWICE_DAILY: 2,
    Frequency.THREE_TIMES_DAILY: 3,
    Frequency.FOUR_TIMES_DAILY: 4,
    Frequency.WEEKLY: 1,
}
DEFAULT_TIMES = {
    Frequency.ONCE_DAILY: ["08:00"],
    Frequency.TWICE_DAILY: ["08:00", "20:00"],
    Frequency.THREE_TIMES_DAILY: ["08:00", "14:00", "20:00"],
    Frequency.FOUR_TIMES_DAILY: ["08:00", "12:00", "16:00", "20:00"],
    Frequency.WEEKLY: ["08:00"],
}
# every_n_hours repeats around the clock from an anchor time; intervals that divide the day keep every day alike.
INTERVAL_HOURS = (1, 2, 3, 4, 6, 8, 12)
DEFAULT_ANCHOR = "08:00"
# A weekly schedule is at most a week ahead; this bounds the search for the next dose.
LOOKAHEAD_DAYS = 8


@dataclass(frozen=True)
class Schedule:
    frequency: str
    schedule_times: list[str]
    interval_hours: int | None
    days_of_week: list[int]


def _minutes(hhmm: str) -> int:
    parsed = time.fromisoformat(hhmm)
    return parsed.hour * 60 + parsed.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _invalid(field: str, message: str) -> ScheduleInvalid:
    return field_error(ScheduleInvalid, field, message)


def normalise_schedule(
    *,
    frequency: str,
    start_date: date,
    schedule_times: Sequence[str] | None = None,
    interval_hours: int | None = None,
    days_of_week: Sequence[int] | None = None,
) -> Schedule:
    """The stored form of a schedule: times sorted and complete, defaults filled in. Raises ScheduleInvalid.

    Times are "HH:MM" (the serializer checks the format). Omitted times take the frequency's defaults;
    every_n_hours takes one anchor time (or the whole day's series) and expands it; weekly days default to the
    weekday of `start_date`.
    """
    times = list(schedule_times or [])
    if len(set(times)) != len(times):
        raise _invalid("schedule_times", "Each time may appear only once.")
    if interval_hours is not None and frequency != Frequency.EVERY_N_HOURS:
        raise _invalid("interval_hours", "Only an every_n_hours schedule takes an interval.")
    if days_of_week and frequency != Frequency.WEEKLY:
        raise _invalid("days_of_week", "Only a weekly schedule takes days of the week.")

    if frequency == Frequency.AS_NEEDED:
        if times:
            raise _invalid("schedule_times", "An as-needed medication has no schedule times.")
        return Schedule(frequency, [], None, [])

    if frequency == Frequency.EVERY_N_HOURS:
        if interval_hours is None:
            raise _invalid("interval_hours", "An every_n_hours schedule needs interval_hours.")
        if interval_hours not in INTERVAL_HOURS:
            allowed = ", ".join(str(h) for h in INTERVAL_HOURS)
            raise _invalid("interval_hours", f"Choose an interval that divides the day: {allowed}.")
        return Schedule(frequency, _every_n_hours_times(times, interval_hours), interval_hours, [])

    expected = DOSES_PER_DAY[frequency]
    if not times:
        times = list(DEFAULT_TIMES[frequency])
    if len(times) != expected:
        label = Frequency(frequency).label.lower()
        raise _invalid("schedule_times", f"A {label} schedule has {expected} time(s) a day; {len(times)} given.")
    days: list[int] = []
    if frequency == Frequency.WEEKLY:
        days = sorted(set(days_of_week or [start_date.weekday()]))
        if len(days) != len(days_of_week or days):
            raise _invalid("days_of_week", "Each day may appear only once.")
    return Schedule(frequency, sorted(times, key=_minutes), None, days)


def _every_n_hours_times(times: list[str], interval_hours: int) -> list[str]:
    step = interval_hours * 60
    count = 24 // interval_hours
    anchor = _minutes(times[0]) if times else _minutes(DEFAULT_ANCHOR)
    series = sorted((anchor + k * step) % (24 * 60) for k in range(count))
    if len(times) > 1 and sorted(_minutes(t) for t in times) != series:
        raise _invalid(
            "schedule_times",
            f"Every {interval_hours} hours means {count} times a day, {interval_hours} hours apart; "
            "send one anchor time or the whole series.",
        )
    return [_hhmm(m) for m in series]


# --- deriving doses ----------------------------------------------------------------------------------------------


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant at which local DAY starts."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def doses_on(regimen: Regimen, day: date, tz: tzinfo) -> list[datetime]:
    """The UTC instants of REGIMEN's doses on local DAY by its pattern (dates, weekdays, times), sorted.

    Ignores `schedule_from` and `ended_at`: this is the pattern a logged dose must match.
    """
    if regimen.frequency == Frequency.AS_NEEDED:
        return []
    if day < regimen.start_date or (regimen.end_date is not None and day > regimen.end_date):
        return []
    if regimen.frequency == Frequency.WEEKLY and day.weekday() not in regimen.days_of_week:
        return []
    # fold=0 gives the first of two ambiguous times and moves a non-existent time forward past the gap;
    # the set drops the duplicate when two schedule times land on the same instant on a spring-forward day.
    instants = {datetime.combine(day, time.fromisoformat(t), tzinfo=tz).astimezone(UTC) for t in regimen.schedule_times}
    return sorted(instants)


def _in_window(regimen: Regimen, instant: datetime) -> bool:
    return instant >= regimen.schedule_from and (regimen.ended_at is None or instant < regimen.ended_at)


def doses_between(regimen: Regimen, tz: tzinfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """REGIMEN's doses with `start <= instant < end` that its current schedule generates (from `schedule_from`,
    before `ended_at`), in order."""
    if end <= start or regimen.frequency == Frequency.AS_NEEDED:
        return
    day = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    if regimen.end_date is not None:
        last = min(last, regimen.end_date)
    day = max(day, regimen.start_date)
    while day <= last:
        for instant in doses_on(regimen, day, tz):
            if start <= instant < end and _in_window(regimen, instant):
                yield instant
        day += timedelta(days=1)


def next_dose_after(regimen: Regimen, tz: tzinfo, after: datetime) -> datetime | None:
    """The first dose strictly after AFTER, or None when the regimen has no more doses (it ended, or its end date
    passed); a week's search from AFTER or from the start date, whichever is later, always finds one otherwise."""
    if regimen.frequency == Frequency.AS_NEEDED or not regimen.is_active:
        return None
    # A regimen that starts in a month has its first dose then: the week's search starts where doses can.
    start = max(after + timedelta(microseconds=1), local_midnight(regimen.start_date, tz))
    for instant in doses_between(regimen, tz, start, start + timedelta(days=LOOKAHEAD_DAYS)):
        return instant
    return None


def is_scheduled_instant(regimen: Regimen, tz: tzinfo, instant: datetime) -> bool:
    """Whether INSTANT is one of the regimen's dose times by its pattern, before it ended."""
    if regimen.ended_at is not None and instant >= regimen.ended_at:
        return False
    return instant.astimezone(UTC) in doses_on(regimen, instant.astimezone(tz).date(), tz)


def dates_between(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
