"""A person's doses over a span of time: the scheduled ones derived from regimens, merged with the logged ones.

A derived dose with a log takes the log's status. One without a log is `pending` until its grace window has
passed, then `missed`: the answer is the same whether or not the periodic task has already written the missed
row. A dose due before its regimen was entered (one started before the day it was entered) stays `pending` until
logged: nobody was expected to log it on time, so it is a question for the person, not a missed dose. Logged
doses that the current schedule no longer generates (an older schedule's, an as-needed intake) are kept as they
were logged.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.conf import settings
from django.db.models import Q

from .choices import DoseStatus
from .models import DoseLog, Regimen
from .schedule import doses_between, local_midnight


def grace_window() -> timedelta:
    return timedelta(minutes=settings.MEDICATION_MISSED_GRACE_MINUTES)


def tz_of(user) -> tzinfo:
    """The person's profile timezone (UTC until they set one)."""
    profile = getattr(user, "profile", None)
    return profile.tzinfo if profile is not None else zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class Dose:
    regimen: Regimen
    scheduled_for: datetime
    status: str
    taken_at: datetime | None
    scheduled: bool
    log_id: uuid.UUID | None

    @property
    def regimen_id(self) -> uuid.UUID:
        return self.regimen.id

    @property
    def medication_name(self) -> str:
        return self.regimen.name

    @property
    def as_needed(self) -> bool:
        return not self.scheduled


def derived_status(regimen: Regimen, scheduled_for: datetime, now: datetime) -> str:
    """The state of a dose nobody logged: missed once past its grace window, unless due before the regimen was
    entered."""
    if scheduled_for < regimen.entered_at:
        return DoseStatus.PENDING
    return DoseStatus.MISSED if scheduled_for + grace_window() <= now else DoseStatus.PENDING


def person_doses(*, user, tz: tzinfo, first_day: date, last_day: date, now: datetime) -> list[Dose]:
    """Every dose of USER on local days FIRST_DAY..LAST_DAY (both included), in time order.

    Three queries: the logs of the span, then the regimens that overlap the span or hold one of those logs.
    """
    start = local_midnight(first_day, tz)
    end = local_midnight(last_day + timedelta(days=1), tz)
    logs = list(DoseLog.objects.filter(user=user, scheduled_for__gte=start, scheduled_for__lt=end))
    regimens = list(
        Regimen.objects.filter(user=user)
        .filter(
            Q(start_date__lte=last_day, end_date__isnull=True)
            | Q(start_date__lte=last_day, end_date__gte=first_day)
            | Q(id__in={log.regimen_id for log in logs})
        )
        .select_related("medication")
    )
    by_id = {r.id: r for r in regimens}
    unmatched = {(log.regimen_id, log.scheduled_for.astimezone(UTC)): log for log in logs}
    doses: list[Dose] = []
    for regimen in regimens:
        for instant in doses_between(regimen, tz, start, end):
            log = unmatched.pop((regimen.id, instant), None)
            if log is None:
                doses.append(Dose(regimen, instant, derived_status(regimen, instant, now), None, True, None))
            else:
                doses.append(Dose(regimen, instant, log.status, log.taken_at, True, log.id))
    for log in unmatched.values():
        regimen = by_id[log.regimen_id]
        doses.append(Dose(regimen, log.scheduled_for, log.status, log.taken_at, log.scheduled, log.id))
    doses.sort(key=lambda d: (d.scheduled_for, d.regimen.name.casefold(), str(d.regimen.id)))
    return doses


def people_doses(*, people: dict, days: int, now: datetime) -> dict:
    """Every dose of each person of PEOPLE (`{user_id: tzinfo}`) on their last DAYS local days up to today, in
    two queries whatever the number of people: `{user_id: [Dose, ...]}` (the care list's adherence)."""
    if not people:
        return {}
    windows = {}
    for user_id, tz in people.items():
        today = now.astimezone(tz).date()
        first_day = today - timedelta(days=days - 1)
        windows[user_id] = (local_midnight(first_day, tz), local_midnight(today + timedelta(days=1), tz))
    earliest, latest = min(w[0] for w in windows.values()), max(w[1] for w in windows.values())
    logs_by_user: dict = {}
    for log in DoseLog.objects.filter(user_id__in=list(people), scheduled_for__gte=earliest, scheduled_for__lt=latest):
        logs_by_user.setdefault(log.user_id, []).append(log)
    regimens_by_user: dict = {}
    first_day_of_all, last_day_of_all = (earliest - timedelta(days=1)).date(), (latest + timedelta(days=1)).date()
    regimens = (
        Regimen.objects.filter(user_id__in=list(people))
        .filter(
            Q(start_date__lte=last_day_of_all, end_date__isnull=True)
            | Q(start_date__lte=last_day_of_all, end_date__gte=first_day_of_all)
        )
        .select_related("medication")
    )
    for regimen in regimens:
        regimens_by_user.setdefault(regimen.user_id, []).append(regimen)
    answer = {}
    for user_id, tz in people.items():
        start, end = windows[user_id]
        unmatched = {
            (log.regimen_id, log.scheduled_for.astimezone(UTC)): log
            for log in logs_by_user.get(user_id, [])
            if start <= log.scheduled_for < end
        }
        doses: list[Dose] = []
        for regimen in regimens_by_user.get(user_id, []):
            for instant in doses_between(regimen, tz, start, end):
                log = unmatched.pop((regimen.id, instant), None)
                if log is None:
                    doses.append(Dose(regimen, instant, derived_status(regimen, instant, now), None, True, None))
                else:
                    doses.append(Dose(regimen, instant, log.status, log.taken_at, True, log.id))
        answer[user_id] = doses
    return answer
