"""Insights: plain-language observations that rules can state from the person's own numbers, each with the
numbers behind it (`{"code", "message", "data"}`).

A rule says what happened (an average moved, a target was met on so many days, sleep was short on so many nights,
readings were flagged, doses were taken) and nothing about what it means medically or what to do: no advice.
The rules are the tables below; a rule needs enough data (days with readings in both windows) to speak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from jeghealth_backend.metric_catalog import CATALOG

from ..daily import Daily
from ..statistics import daily_value, trend


@dataclass(frozen=True, slots=True)
class AverageChangeRule:
    """Speak when the average of SIDE over the last `days` moved at least `min_change` against the days before."""

    metric_type: str
    side: str
    label: str
    unit: str
    min_change: float
    decimals: int


AVERAGE_CHANGE_DAYS = 30
# Fewer days with readings than this in either window and the comparison says too little.
MIN_DAYS_WITH_DATA = 5
AVERAGE_CHANGE_RULES = (
    AverageChangeRule("blood_pressure", "systolic", "systolic pressure", "mmHg", 5.0, 0),
    AverageChangeRule("blood_pressure", "diastolic", "diastolic pressure", "mmHg", 5.0, 0),
    AverageChangeRule("heart_rate", "value", "resting heart rate", "bpm", 5.0, 0),
    AverageChangeRule("weight", "value", "weight", "kg", 1.0, 1),
    AverageChangeRule("blood_sugar", "value", "blood sugar", "mg/dL", 10.0, 0),
    AverageChangeRule("sleep_hours", "value", "nightly sleep", "hours", 0.5, 1),
    AverageChangeRule("steps", "value", "daily step count", "steps", 1000.0, 0),
)
SHORT_SLEEP_HOURS = 6.0
SHORT_SLEEP_NIGHTS = 3
WEEK_DAYS = 7
TARGET_PERIODS = 7
TARGET_MIN_PERIODS = 3
_PERIOD_WORDS = {"daily": ("day", "days"), "weekly": ("week", "weeks"), "monthly": ("month", "months")}


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def insights_from(
    *, daily: Daily, today: date, targets: list[dict[str, Any]], adherence_week: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Every insight the rules find in the dashboard's data, most specific first."""
    found: list[dict[str, Any]] = []
    found += _average_changes(daily, today)
    found += _targets_met(targets)
    found += _short_sleep(daily, today)
    found += _flagged_readings(daily, today)
    found += _dose_adherence(adherence_week)
    return found


def _average_changes(daily: Daily, today: date) -> list[dict[str, Any]]:
    found = []
    for rule in AVERAGE_CHANGE_RULES:
        days = daily.get(rule.metric_type)
        if not days:
            continue
        spec = CATALOG[rule.metric_type]
        result = trend(spec, days, today, AVERAGE_CHANGE_DAYS, rule.side)
        change = result["change"]
        if (
            change is None
            or min(result["days_with_data"], result["previous_days_with_data"]) < MIN_DAYS_WITH_DATA
            or abs(change) < rule.min_change
        ):
            continue
        verb = "rose" if change > 0 else "fell"
        found.append(
            {
                "code": f"average_{verb}",
                "message": (
                    f"Your average {rule.label} {verb} {_number(abs(change), rule.decimals)} {rule.unit} over the "
                    f"last {AVERAGE_CHANGE_DAYS} days: {_number(result['average'], rule.decimals)} {rule.unit}, "
                    f"against {_number(result['previous_average'], rule.decimals)} {rule.unit} in the "
                    f"{AVERAGE_CHANGE_DAYS} days before."
                ),
                "data": {
                    "metric_type": rule.metric_type,
                    "series": rule.side,
                    "days": AVERAGE_CHANGE_DAYS,
                    "average": result["average"],
                    "previous_average": result["previous_average"],
                    "change": change,
                    "unit": spec.unit,
                },
            }
        )
    return found


def _targets_met(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for entry in targets:
        periods = entry["recent_periods"]
        # The current period still running and not met yet is not held against the person.
        if periods and not periods[-1]["met"]:
            periods = periods[:-1]
        periods = periods[-TARGET_PERIODS:]
        if len(periods) < TARGET_MIN_PERIODS:
            continue
        target = entry["target"]
        met = sum(1 for period in periods if period["met"])
        one, many = _PERIOD_WORDS[target["period"]]
        label = CATALOG[target["metric_type"]].label.lower()
        found.append(
            {
                "code": "target_periods_met",
                "message": f"You met your {label} target on {met} of the last {len(periods)} {many}."
                if one == "day"
                else f"You met your {target['period']} {label} target in {met} of the last {len(periods)} {many}.",
                "data": {
                    "target": target["id"],
                    "metric_type": target["metric_type"],
                    "period": target["period"],
                    "periods": len(periods),
                    "periods_met": met,
                    "current_streak": entry["current_streak"],
                },
            }
        )
    return found


def _short_sleep(daily: Daily, today: date) -> list[dict[str, Any]]:
    days = daily.get("sleep_hours")
    if not days:
        return []
    spec = CATALOG["sleep_hours"]
    first = today - timedelta(days=WEEK_DAYS - 1)
    short = sorted(
        key
        for key, day in days.items()
        if first <= key <= today
        and (hours := daily_value(spec, day, "value")) is not None
        and hours < SHORT_SLEEP_HOURS
    )
    if len(short) < SHORT_SLEEP_NIGHTS:
        return []
    return [
        {
            "code": "short_sleep",
            "message": (f"You slept under {SHORT_SLEEP_HOURS:g} hours on {len(short)} of the last {WEEK_DAYS} nights."),
            "data": {
                "nights": len(short),
                "days": WEEK_DAYS,
                "threshold_hours": SHORT_SLEEP_HOURS,
                "dates": short,
            },
        }
    ]


def _flagged_readings(daily: Daily, today: date) -> list[dict[str, Any]]:
    first = today - timedelta(days=WEEK_DAYS - 1)
    by_type = {
        metric_type: count
        for metric_type, days in daily.items()
        if (count := sum(day.anomalies for key, day in days.items() if first <= key <= today))
    }
    total = sum(by_type.values())
    if not total:
        return []
    parts = ", ".join(f"{CATALOG[t].label.lower()} ({n})" for t, n in sorted(by_type.items()))
    noun = "reading was" if total == 1 else "readings were"
    return [
        {
            "code": "flagged_readings",
            "message": f"{total} {noun} flagged as outside your alert thresholds in the last {WEEK_DAYS} days: "
            f"{parts}.",
            "data": {"count": total, "days": WEEK_DAYS, "by_metric_type": by_type},
        }
    ]


def _dose_adherence(adherence_week: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not adherence_week:
        return []
    overall = adherence_week["overall"]
    if not overall["scheduled"]:
        return []
    return [
        {
            "code": "dose_adherence",
            "message": f"You took {overall['taken']} of {overall['scheduled']} scheduled doses "
            f"({overall['percent']:g} %) in the last {WEEK_DAYS} days.",
            "data": {
                "days": WEEK_DAYS,
                "scheduled": overall["scheduled"],
                "taken": overall["taken"],
                "percent": overall["percent"],
            },
        }
    ]
