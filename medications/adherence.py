"""Adherence arithmetic over a list of doses (from `doses.person_doses`).

A dose counts once it is settled: scheduled (as-needed intakes never count), its time has come, and it is either
logged (taken, skipped, missed) or past its grace window (missed). A dose still inside its grace window and not
logged yet is left out, so the figure does not dip at every dose time; a dose taken ahead of its time counts once
that time comes. `percent` is taken ÷ counted × 100, one decimal, or null when nothing counted.

A day is fully adherent when at least one dose counted that day and all of them were taken; a day with no
counted dose (a weekly regimen's day off) neither extends nor breaks a streak.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from typing import Any

from .choices import DoseStatus
from .doses import Dose
from .schedule import dates_between

MOST_MISSED_LIMIT = 5


def counted(doses: Iterable[Dose], now: datetime) -> list[Dose]:
    return [d for d in doses if d.scheduled and d.scheduled_for <= now and d.status != DoseStatus.PENDING]


def percent(taken: int, scheduled: int) -> float | None:
    return round(100 * taken / scheduled, 1) if scheduled else None


def _tally(doses: list[Dose]) -> dict[str, Any]:
    taken = sum(1 for d in doses if d.status == DoseStatus.TAKEN)
    return {"scheduled": len(doses), "taken": taken, "percent": percent(taken, len(doses))}


def adherence_report(doses: list[Dose], now: datetime) -> dict[str, Any]:
    settled = counted(doses, now)
    per_regimen: dict = {}
    for dose in settled:
        per_regimen.setdefault(dose.regimen.id, (dose.regimen, []))[1].append(dose)
    regimens = [
        {"regimen": regimen.id, "medication_name": regimen.name, **_tally(items)}
        for regimen, items in sorted(per_regimen.values(), key=lambda pair: (pair[0].name.casefold(), str(pair[0].id)))
    ]
    return {"overall": _tally(settled), "regimens": regimens}


def _day_states(settled: list[Dose], tz: tzinfo, first_day: date, last_day: date) -> list[bool | None]:
    """Per day: True fully adherent, False not, None when no dose counted that day."""
    by_day: dict[date, list[Dose]] = {}
    for dose in settled:
        by_day.setdefault(dose.scheduled_for.astimezone(tz).date(), []).append(dose)
    states: list[bool | None] = []
    for day in dates_between(first_day, last_day):
        items = by_day.get(day)
        states.append(None if not items else all(d.status == DoseStatus.TAKEN for d in items))
    return states


def _streaks(states: list[bool | None]) -> tuple[int, int]:
    """(current, longest): the run of adherent days ending at the last day, and the longest run."""
    longest = run = 0
    for state in states:
        if state is True:
            run += 1
            longest = max(longest, run)
        elif state is False:
            run = 0
    return run, longest


def statistics_report(doses: list[Dose], *, tz: tzinfo, first_day: date, last_day: date, now: datetime) -> dict:
    settled = counted(doses, now)
    statuses = Counter(d.status for d in settled)
    states = _day_states(settled, tz, first_day, last_day)
    current, longest = _streaks(states)
    missed_times = Counter(
        d.scheduled_for.astimezone(tz).strftime("%H:%M") for d in settled if d.status == DoseStatus.MISSED
    )
    return {
        "start_date": first_day,
        "end_date": last_day,
        "counts": {
            "scheduled": len(settled),
            "taken": statuses[DoseStatus.TAKEN],
            "skipped": statuses[DoseStatus.SKIPPED],
            "missed": statuses[DoseStatus.MISSED],
            "pending": sum(1 for d in doses if d.scheduled and d.status == DoseStatus.PENDING),
            "as_needed_taken": sum(1 for d in doses if not d.scheduled and d.status == DoseStatus.TAKEN),
        },
        "percent": percent(statuses[DoseStatus.TAKEN], len(settled)),
        "current_streak_days": current,
        "longest_streak_days": longest,
        "fully_adherent_days": sum(1 for s in states if s is True),
        "days_with_doses": sum(1 for s in states if s is not None),
        "most_missed_times": [
            {"time": hhmm, "missed": n}
            for hhmm, n in sorted(missed_times.items(), key=lambda kv: (-kv[1], kv[0]))[:MOST_MISSED_LIMIT]
        ],
    }
