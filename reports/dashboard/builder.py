"""`GET dashboard/`: everything the app's home screen shows, in one answer, cached per person.

Computed in a fixed number of queries whatever the length of the history: the latest reading of each type (one
query, health_metrics' selector), every type's daily aggregates of the last 60 days (one GROUP BY), the active
targets (one) and their progress (one or two each, at most MAX_TARGETS), today's doses and the adherence of the
last 7 and 30 days (three each, medications' selectors), the next appointments (two), the inbox (two) and the
devices (one). The answer is cached until the person's data changes (jeghealth_backend.person_cache).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q

from health_metrics import selectors as metric_selectors
from health_metrics.periods import local_today
from health_metrics.progress import target_progress
from jeghealth_backend import person_cache
from jeghealth_backend.metric_catalog import CATALOG, METRIC_TYPES

from .. import sources
from ..daily import Daily, daily_rows
from ..statistics import sides, trend
from .insights import insights_from

TREND_WINDOWS = (("last_7_days", 7), ("last_30_days", 30))
HISTORY_DAYS = 2 * max(days for _, days in TREND_WINDOWS)
MAX_TARGETS = 10
RECENT_PERIODS = 8
UPCOMING_APPOINTMENTS = 3
LATEST_NOTIFICATIONS = 5


# The sections of the dashboard beyond the health data, each shown to someone else only under its grant scope.
MEDICATIONS, APPOINTMENTS, NOTIFICATIONS = "medications", "appointments", "notifications"
EVERY_SECTION = frozenset({MEDICATIONS, APPOINTMENTS, NOTIFICATIONS})


def dashboard_get(*, user, now: datetime, sections: frozenset[str] = EVERY_SECTION) -> dict[str, Any]:
    """The dashboard of USER at NOW, from the cache while none of the person's data changed.

    SECTIONS: which of medications, appointments and notifications to fill (the others are null): all for the
    person, those of a grantee's scopes for a doctor reading under a `health_metrics` grant.
    """
    tz = user.profile.tzinfo
    today = local_today(tz, now)
    return person_cache.cached(
        user.pk,
        "dashboard",
        ("v2", today, tz.key, tuple(sorted(sections))),
        lambda: dashboard_compute(user=user, now=now, sections=sections),
    )


def dashboard_compute(*, user, now: datetime, sections: frozenset[str] = EVERY_SECTION) -> dict[str, Any]:
    tz = user.profile.tzinfo
    today = local_today(tz, now)
    daily = daily_rows(user_id=user.pk, tz=tz, first_day=today - timedelta(days=HISTORY_DAYS - 1), last_day=today)
    targets = _targets(user=user, today=today, now=now)
    week = month = None
    if MEDICATIONS in sections:
        week = sources.adherence(user=user, start_date=today - timedelta(days=6), end_date=today, now=now)
        month = sources.adherence(user=user, start_date=today - timedelta(days=29), end_date=today, now=now)
    medications = appointments = notifications = None
    if MEDICATIONS in sections:
        medications = {
            "today": sources.doses_of_day(user=user, day=today, now=now),
            "adherence": {"last_7_days": week, "last_30_days": month},
        }
    if APPOINTMENTS in sections:
        appointments = {"upcoming": sources.upcoming_appointments(user=user, now=now, limit=UPCOMING_APPOINTMENTS)}
    if NOTIFICATIONS in sections:
        notifications = sources.notifications_summary(user=user, limit=LATEST_NOTIFICATIONS)
    return {
        "generated_at": now,
        "date": today,
        "timezone": tz.key,
        "latest": _latest(user),
        "trends": _trends(daily, today),
        "targets": targets,
        "medications": medications,
        "appointments": appointments,
        "notifications": notifications,
        "devices": sources.device_states(user=user),
        "insights": insights_from(daily=daily, today=today, targets=targets, adherence_week=week),
    }


def _latest(user) -> dict[str, dict[str, Any]]:
    return {
        metric_type: {
            "id": reading.id,
            "metric_type": reading.metric_type,
            "value": reading.value,
            "systolic_value": reading.systolic_value,
            "diastolic_value": reading.diastolic_value,
            "unit": reading.unit,
            "recorded_at": reading.recorded_at,
            "source": reading.source,
            "device": reading.device_id,
            "is_anomaly": reading.is_anomaly,
            "anomaly_reason": reading.anomaly_reason,
        }
        for metric_type, reading in metric_selectors.metric_latest(user=user).items()
    }


def _trends(daily: Daily, today: date) -> dict[str, dict[str, Any]]:
    answer = {}
    for metric_type in METRIC_TYPES:
        days = daily.get(metric_type)
        if not days:
            continue
        spec = CATALOG[metric_type]
        entry: dict[str, Any] = {"metric_type": metric_type, "unit": spec.unit}
        for name, length in TREND_WINDOWS:
            entry[name] = {side: trend(spec, days, today, length, side) for side in sides(spec)}
        answer[metric_type] = entry
    return answer


def _targets(*, user, today: date, now: datetime) -> list[dict[str, Any]]:
    active = (
        metric_selectors.target_queryset(user=user)
        .filter(start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))[:MAX_TARGETS]
    )
    entries = []
    for target in active:
        target.user = user  # the profile (timezone) is loaded already: no query per target for it
        progress = target_progress(target=target, now=now)
        periods = progress["periods"]
        entries.append(
            {
                "target": {
                    "id": target.id,
                    "metric_type": target.metric_type,
                    "target_type": target.target_type,
                    "target_value": target.target_value,
                    "min_value": target.min_value,
                    "max_value": target.max_value,
                    "period": target.period,
                    "start_date": target.start_date,
                    "end_date": target.end_date,
                    "unit": CATALOG[target.metric_type].unit,
                },
                "current_period": periods[-1] if periods else None,
                "recent_periods": periods[-RECENT_PERIODS:],
                "periods_met": progress["periods_met"],
                "periods_total": progress["periods_total"],
                "current_streak": progress["current_streak"],
            }
        )
    return entries
