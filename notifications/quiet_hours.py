"""Quiet hours: a daily window of the person's own clock during which non-critical pushes and e-mails wait."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_quiet(local_time: time, *, start: time, end: time) -> bool:
    """Whether a wall-clock time falls in [start, end); `start > end` is a window across midnight."""
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def quiet_until(*, now: datetime, start: time | None, end: time | None, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet window that `now` falls in, as an aware UTC datetime; None when `now` is not quiet.

    The end is the next wall-clock `end` in `tz` after `now`, so a window across midnight ends on the next local
    day and a DST change in between moves the UTC instant, not the local time.
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    if not is_quiet(local.time().replace(tzinfo=None), start=start, end=end):
        return None
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate.astimezone(UTC) <= now.astimezone(UTC):
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(UTC)
