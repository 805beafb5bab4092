"""Trends over the last `days` local days: change against the `days` before, least-squares slope per day and
a 7-day moving average.

The daily buckets of the two periods and the six days before them come from the daily rollups (the same ones
daily summaries read, summaries.summary_buckets), or from one GROUP BY per local day over readings where the
rollups cannot be trusted yet. What is left is arithmetic over at most 2 × 365 + 6 daily
points. Each day's value is the day's total for the metrics counted per day (steps, calories, sleep) and
the day's average reading for the others; the slope and moving average are over those daily values, so a
device that uploads every minute and a person who types one reading a day get comparable trends.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any

from jeghealth_backend.metric_catalog import CATALOG, MetricSpec

from .models import Period
from .periods import local_today
from .summaries import summary_buckets

MOVING_AVERAGE_DAYS = 7
DECIMALS = 4


def trends_get(*, user, metric_type: str, days: int, now: datetime) -> dict[str, Any]:
    spec = CATALOG[metric_type]
    tz = user.profile.tzinfo
    today = local_today(tz, now)
    start = today - timedelta(days=days - 1)
    previous_start = start - timedelta(days=days)
    fetch_from = min(previous_start, start - timedelta(days=MOVING_AVERAGE_DAYS - 1))
    # Daily rollups where they can be trusted (no refresh pending, the profile's timezone), SQL for the rest.
    daily = summary_buckets(
        user_id=user.pk, metric_type=metric_type, period=Period.DAILY, tz=tz, start_date=fetch_from, end_date=today
    )
    answer: dict[str, Any] = {
        "metric_type": metric_type,
        "unit": spec.unit,
        "days": days,
        "start_date": start.isoformat(),
        "end_date": today.isoformat(),
        "previous_start_date": previous_start.isoformat(),
    }
    sides = ("systolic", "diastolic") if spec.is_blood_pressure else ("",)
    for side in sides:
        series = _series(spec, daily, side, previous_start, start, today)
        if side:
            answer[side] = series
        else:
            answer.update(series)
    return answer


def _daily_value(spec: MetricSpec, row: dict, side: str) -> float | None:
    total = row[f"{side}_sum" if side else "sum"]
    if total is None or not row["count"]:
        return None
    return total if spec.target_aggregate == "sum" else total / row["count"]


def _period_stats(spec: MetricSpec, daily: dict, side: str, first: date, last: date) -> dict[str, Any]:
    rows = [row for day, row in daily.items() if first <= day <= last]
    count = sum(row["count"] for row in rows)
    if not count:
        return {"count": 0, "avg": None}
    if spec.target_aggregate == "sum":
        # Per-day metrics: the average day's total, over the days that have readings.
        average = statistics.fmean(_daily_value(spec, row, side) for row in rows)
    else:
        average = sum(row[f"{side}_sum" if side else "sum"] for row in rows) / count
    return {"count": count, "avg": round(average, DECIMALS)}


def _series(spec: MetricSpec, daily: dict, side: str, previous_start: date, start: date, today: date) -> dict:
    current = _period_stats(spec, daily, side, start, today)
    previous = _period_stats(spec, daily, side, previous_start, start - timedelta(days=1))
    change = change_percent = None
    if current["avg"] is not None and previous["avg"] is not None:
        change = round(current["avg"] - previous["avg"], DECIMALS)
        if previous["avg"]:
            change_percent = round(change / previous["avg"] * 100, 2)

    values = {day: _daily_value(spec, row, side) for day, row in daily.items()}
    points = [((day - start).days, value) for day, value in values.items() if start <= day <= today]
    slope = None
    if len(points) >= 2:
        xs, ys = zip(*points, strict=True)
        slope = round(statistics.linear_regression(xs, ys).slope, DECIMALS)

    moving = []
    day = start
    while day <= today:
        window = [values[d] for d in _window(day) if d in values]
        moving.append(
            {
                "date": day.isoformat(),
                "value": round(values[day], DECIMALS) if day in values else None,
                "average_7d": round(statistics.fmean(window), DECIMALS) if window else None,
            }
        )
        day += timedelta(days=1)
    return {
        "current": current,
        "previous": previous,
        "change": change,
        "change_percent": change_percent,
        "slope_per_day": slope,
        "moving_average": moving,
    }


def _window(day: date):
    return (day - timedelta(days=offset) for offset in range(MOVING_AVERAGE_DAYS))
