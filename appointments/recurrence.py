"""Recurrence rules of appointment series: an RFC 5545 RRULE, checked against the contract's bounds and expanded.

The rule is parsed and expanded by python-dateutil's `rrulestr`, never by hand. What this module adds is the
contract (API.md): FREQ is WEEKLY or MONTHLY, the rule ends (COUNT of at most 52, or UNTIL at most one year after
the first start), a series holds at most 52 appointments, and its first occurrence is the requested start itself.

Occurrences keep the wall-clock time of the provider's zone: the rule is expanded from the start expressed in that
zone, so a 10:00 appointment stays at 10:00 on the far side of a DST change (its UTC time moves by an hour).
"""

from __future__ import annotations

import itertools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

MAX_OCCURRENCES = 52
MAX_SPAN = relativedelta(years=1)
MAX_RULE_LENGTH = 500
FREQUENCIES = ("WEEKLY", "MONTHLY")
# The parts that choose days; BYHOUR/BYMINUTE/BYSECOND would book several times a day, and DTSTART, EXDATE or
# RDATE lines are not part of a rule: the start is `start_time`.
ALLOWED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}


class RecurrenceInvalid(ValueError):
    """The text is not an RRULE, or is one outside the contract's bounds; the message says which, for a person."""


@dataclass(frozen=True)
class Recurrence:
    """A checked rule: its normalised text (as stored on the series) and its occurrences as UTC starts."""

    rule: str
    starts: list[datetime]


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body or any(char in body for char in "\r\n"):
        raise RecurrenceInvalid("Give one RRULE, e.g. FREQ=WEEKLY;INTERVAL=4;COUNT=6.")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not name or not value.strip():
            raise RecurrenceInvalid("This is not an RRULE: each part is NAME=VALUE, separated by ';'.")
        if name in parts:
            raise RecurrenceInvalid(f"The RRULE names {name} twice.")
        parts[name] = value.strip().upper()
    unknown = sorted(set(parts) - ALLOWED_PARTS)
    if unknown:
        raise RecurrenceInvalid(f"The RRULE part {unknown[0]} is not supported here.")
    return parts


def _until_utc(value: str, tz: zoneinfo.ZoneInfo) -> str:
    """UNTIL as RFC 5545 wants it beside a zoned start: UTC. A date means the end of that local day; a time
    without `Z` is read on the provider's clock."""
    try:
        if len(value) == 8:
            moment = datetime.combine(datetime.strptime(value, "%Y%m%d").date(), time.max, tzinfo=tz)  # noqa: DTZ007
        elif value.endswith("Z"):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
    except ValueError:
        raise RecurrenceInvalid("UNTIL is a date (20250630) or a UTC time (20250630T170000Z).") from None
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def recurrence_expand(*, text: str, start: datetime, tz: zoneinfo.ZoneInfo) -> Recurrence:
    """The occurrences of the RRULE TEXT from START (aware), on the wall clock of TZ, checked against the bounds.

    Raises RecurrenceInvalid when TEXT is not an RRULE, its FREQ is not WEEKLY or MONTHLY, it does not end, its
    COUNT is over 52 or its UNTIL more than a year after START, it makes more than 52 occurrences, or START is
    not its first occurrence.
    """
    if len(text) > MAX_RULE_LENGTH:
        raise RecurrenceInvalid(f"An RRULE is at most {MAX_RULE_LENGTH} characters.")
    parts = _parts(text)
    if parts.get("FREQ") not in FREQUENCIES:
        raise RecurrenceInvalid("FREQ is WEEKLY or MONTHLY.")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise RecurrenceInvalid(
            f"A series ends: give COUNT (at most {MAX_OCCURRENCES}) or UNTIL (within a year), not both."
        )
    local_start = start.astimezone(tz)
    if "COUNT" in parts:
        if not parts["COUNT"].isdigit() or not 1 <= int(parts["COUNT"]) <= MAX_OCCURRENCES:
            raise RecurrenceInvalid(f"COUNT is a whole number from 1 to {MAX_OCCURRENCES}.")
    else:
        parts["UNTIL"] = _until_utc(parts["UNTIL"], tz)
        until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if until > local_start + MAX_SPAN:
            raise RecurrenceInvalid("UNTIL is at most one year after the first appointment.")
        if until < start:
            raise RecurrenceInvalid("UNTIL is after the first appointment.")
    if "INTERVAL" in parts and (not parts["INTERVAL"].isdigit() or int(parts["INTERVAL"]) < 1):
        raise RecurrenceInvalid("INTERVAL is a whole number of at least 1.")
    rule = ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        # dtstart in the provider's zone: dateutil keeps its wall-clock time for every occurrence.
        occurrences = list(itertools.islice(rrulestr(rule, dtstart=local_start), MAX_OCCURRENCES + 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceInvalid(f"This is not a valid RRULE ({exc}).") from None
    if len(occurrences) > MAX_OCCURRENCES:
        raise RecurrenceInvalid(f"A series holds at most {MAX_OCCURRENCES} appointments.")
    if not occurrences or occurrences[0] != local_start:
        raise RecurrenceInvalid("start_time must be the first occurrence of the rule (check BYDAY or BYMONTHDAY).")
    return Recurrence(rule=rule, starts=[moment.astimezone(UTC) for moment in occurrences])
