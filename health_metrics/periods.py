"""Calendar periods of a person's own calendar: days, ISO weeks (from Monday) and months in their timezone.

A period is named by its first local date. Its instants are [local midnight of that date, local midnight of the
next period's first date), converted to UTC, so a day is 23 or 25 hours long across a DST change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import DateField, DateTimeField, F, Func
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from .models import Period

_TRUNC = {Period.DAILY: TruncDay, Period.WEEKLY: TruncWeek, Period.MONTHLY: TruncMonth}


def period_start(day: date, period: str) -> date:
    if period == Period.DAILY:
        return day
    if period == Period.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period_start(start: date, period: str) -> date:
    """The first day of the period after the one that starts on `start`."""
    if period == Period.DAILY:
        return start + timedelta(days=1)
    if period == Period.WEEKLY:
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def period_starts(first: date, last: date, period: str) -> list[date]:
    """First days of every period from the one holding `first` to the one holding `last`, both included."""
    starts = []
    current = period_start(first, period)
    while current <= last:
        starts.append(current)
        current = next_period_start(current, period)
    return starts


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant at which `day` begins in `tz` (where midnight is skipped, the instant clocks jump)."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def local_today(tz: tzinfo, now: datetime) -> date:
    return now.astimezone(tz).date()


def bucket_expression(period: str, tz: tzinfo):
    """SQL for the local first day of the period holding `recorded_at` (DATE_TRUNC … AT TIME ZONE on PostgreSQL)."""
    return _TRUNC[period]("recorded_at", tzinfo=tz, output_field=DateField())


class RecordedLocal(Func):
    """SQL for `recorded_at` on the reading's own clock: shifted by the offset it was sent with (a naive local
    time, written as UTC so that truncation leaves it alone)."""

    output_field = DateTimeField()

    def __init__(self):
        super().__init__(F("recorded_at"), F("recorded_offset_minutes"))

    def as_postgresql(self, compiler, connection, **extra):
        (at, at_params), (offset, offset_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"({at} + interval '1 minute' * {offset})", [*at_params, *offset_params]

    def as_sqlite(self, compiler, connection, **extra):
        (at, at_params), (offset, offset_params) = (compiler.compile(e) for e in self.source_expressions)
        # (The backend turns %% into %.)
        return (
            f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {at}, printf('%%+d minutes', {offset}))",
            [*at_params, *offset_params],
        )


# Furthest a sent offset may be from UTC (UTC-12 … UTC+14): the span of instants a local date can hold.
MAX_OFFSET = timedelta(hours=14)


def recorded_bucket_expression(period: str):
    """SQL for the first day of the period holding the reading on its own local calendar (`day_basis=recorded`)."""
    return _TRUNC[period](RecordedLocal(), tzinfo=UTC, output_field=DateField())
