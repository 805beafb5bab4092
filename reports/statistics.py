"""Statistics and trends over daily rows (`daily.daily_rows`), with the definitions of health_metrics' trends.

A day's value is the day's total for the metrics counted per day (the catalog's `target_aggregate` "sum": steps,
calories, sleep) and the day's average reading for the others. A window's average is then the average day's total
for the former and the average reading for the latter; its slope is the least-squares slope of the daily values
per day; its change is against the window of the same length just before it. Blood pressure has two series,
`systolic` and `diastolic`; every other type one, `value`.
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

from jeghealth_backend.metric_catalog import MetricSpec

from .daily import Day

DECIMALS = 2


def sides(spec: MetricSpec) -> tuple[str, ...]:
    return ("systolic", "diastolic") if spec.is_blood_pressure else ("value",)


def is_per_day(spec: MetricSpec) -> bool:
    return spec.target_aggregate == "sum"


def daily_value(spec: MetricSpec, day: Day, side: str) -> float | None:
    total = day.side(side)[0]
    if total is None or not day.count:
        return None
    return total if is_per_day(spec) else total / day.count


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def window_stats(spec: MetricSpec, days: dict[date, Day], first: date, last: date, side: str) -> dict[str, Any]:
    """Readings, days with readings, average, lowest and highest of local days FIRST..LAST (both included).

    For per-day metrics the lowest and highest are days' totals; for the others, single readings.
    """
    rows = [day for key, day in days.items() if first <= key <= last]
    count = sum(day.count for day in rows)
    answer: dict[str, Any] = {
        "count": count,
        "days_with_data": len(rows),
        "anomalies": sum(day.anomalies for day in rows),
        "average": None,
        "min": None,
        "max": None,
    }
    if not count:
        return answer
    if is_per_day(spec):
        values = [v for v in (daily_value(spec, day, side) for day in rows) if v is not None]
        if values:
            answer.update(average=statistics.fmean(values), min=min(values), max=max(values))
    else:
        totals = [day.side(side)[0] for day in rows if day.side(side)[0] is not None]
        lows = [day.side(side)[1] for day in rows if day.side(side)[1] is not None]
        highs = [day.side(side)[2] for day in rows if day.side(side)[2] is not None]
        if totals:
            answer.update(average=sum(totals) / count, min=min(lows), max=max(highs))
    for key in ("average", "min", "max"):
        answer[key] = _round(answer[key])
    return answer


def slope_per_day(spec: MetricSpec, days: dict[date, Day], first: date, last: date, side: str) -> float | None:
    points = [
        ((key - first).days, value)
        for key, day in sorted(days.items())
        if first <= key <= last and (value := daily_value(spec, day, side)) is not None
    ]
    if len(points) < 2:
        return None
    xs, ys = zip(*points, strict=True)
    if len(set(xs)) < 2:
        return None
    return round(statistics.linear_regression(xs, ys).slope, 4)


def trend(spec: MetricSpec, days: dict[date, Day], last: date, length: int, side: str) -> dict[str, Any]:
    """The LENGTH local days ending on LAST against the LENGTH days before them."""
    first = last - timedelta(days=length - 1)
    current = window_stats(spec, days, first, last, side)
    previous = window_stats(spec, days, first - timedelta(days=length), first - timedelta(days=1), side)
    change = change_percent = None
    if current["average"] is not None and previous["average"] is not None:
        change = round(current["average"] - previous["average"], DECIMALS)
        if previous["average"]:
            change_percent = round(change / previous["average"] * 100, 1)
    return {
        "days": length,
        "start_date": first,
        "end_date": last,
        "average": current["average"],
        "previous_average": previous["average"],
        "change": change,
        "change_percent": change_percent,
        "slope_per_day": slope_per_day(spec, days, first, last, side),
        "days_with_data": current["days_with_data"],
        "previous_days_with_data": previous["days_with_data"],
        "count": current["count"],
    }
