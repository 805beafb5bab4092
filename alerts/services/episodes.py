"""The life of an episode: open, collect, raise its severity, close; and telling the person when that matters.

Every function here runs inside the caller's transaction, which holds the lock that serialises this person's
judgements (their metric cursors, or the episode row). Notifications go through `notify` in the same transaction:
an episode and the notification announcing it commit together, or neither does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from notifications.services import notify

from ..choices import SEVERITY_RANK, CloseReason, EpisodeStatus, Severity
from ..models import AlertEpisode
from ..notices import Notice

logger = logging.getLogger("jeghealth.alerts")

# Signals less than this apart belong to one episode; after a longer silence the episode is over.
EPISODE_GAP = timedelta(hours=6)
MAX_REMINDERS = 3


def repeat_every() -> timedelta:
    return timedelta(minutes=settings.ALERT_REPEAT_MINUTES)


def escalate_after() -> timedelta:
    return timedelta(minutes=settings.ALERT_ESCALATION_MINUTES)


def max_reading_age() -> timedelta:
    return timedelta(hours=settings.ALERT_MAX_READING_AGE_HOURS)


def rank(severity: str) -> int:
    return SEVERITY_RANK[severity]


@dataclass
class Event:
    """An episode that opened or whose severity rose: something to tell the person about."""

    episode: AlertEpisode
    kind: str  # "opened" or "severity_rose"
    detail: dict[str, Any] = field(default_factory=dict)


def episode_open(
    *,
    user_id,
    rule: str,
    severity: str,
    at: datetime,
    metric_type: str = "",
    subject_key: str = "",
    subject_label: str = "",
) -> AlertEpisode:
    """A new live episode, first signalled at AT. The caller holds the lock that makes it the only live one."""
    now = timezone.now()
    return AlertEpisode.objects.create(
        user_id=user_id,
        rule=rule,
        metric_type=metric_type,
        subject_key=subject_key,
        subject_label=subject_label[:120],
        severity=severity,
        opened_at=at,
        last_signal_at=at,
        created_at=now,
        updated_at=now,
    )


def episode_close(episode: AlertEpisode, *, at: datetime, reason: str) -> None:
    """Close EPISODE at AT: it stops collecting, and its reminders and escalation stop with it."""
    episode.status = EpisodeStatus.CLOSED
    episode.closed_at = max(at, episode.opened_at)
    episode.close_reason = reason
    episode.next_reminder_at = None
    episode.updated_at = timezone.now()
    episode.save()
    logger.info("alert_episode_closed", extra={"episode_id": str(episode.pk), "reason": reason})


def quiet_gap_passed(episode: AlertEpisode, at: datetime) -> bool:
    return at - episode.last_signal_at > EPISODE_GAP


def close_if_quiet(episode: AlertEpisode | None, at: datetime) -> AlertEpisode | None:
    """EPISODE, or None once it was closed because nothing came for the quiet gap before AT."""
    if episode is not None and quiet_gap_passed(episode, at):
        episode_close(episode, at=episode.last_signal_at + EPISODE_GAP, reason=CloseReason.QUIET)
        return None
    return episode


def raise_severity(episode: AlertEpisode, severity: str) -> bool:
    """Make SEVERITY the episode's if it is higher; True when it rose. A rise to critical starts the critical
    schedule afresh, so an episode acknowledged at a lower severity is live again."""
    if rank(severity) <= rank(episode.severity):
        return False
    episode.severity = severity
    return True


def arm_critical(episode: AlertEpisode, *, now: datetime) -> None:
    """The person is being told of a critical episode now: remind from now, escalate ALERT_ESCALATION_MINUTES on."""
    episode.status = EpisodeStatus.OPEN
    episode.acknowledged_by = None
    episode.acknowledged_by_name = ""
    episode.acknowledged_at = None
    episode.critical_since = now
    episode.reminders_sent = 0
    episode.next_reminder_at = now + repeat_every()
    episode.escalated_at = None


def tell(*, user, episode: AlertEpisode, category: str, notice: Notice, data: dict[str, Any], kind: str) -> None:
    """Notify USER (the episode's person) that EPISODE opened or rose; once per (episode, severity)."""
    now = timezone.now()
    # An episode that closed again within the same upload is still told (the person had that reading), but there
    # is nothing left to remind of or escalate.
    if episode.severity == Severity.CRITICAL and episode.closed_at is None:
        arm_critical(episode, now=now)
    notify(
        user=user,
        category=category,
        title=notice.title,
        body=notice.body,
        data={"kind": kind, **episode_data(episode), **data},
        severity=episode.severity,
        dedupe_key=f"alert:{episode.pk}:{episode.severity}:{kind}",
    )
    episode.notified_severity = episode.severity
    episode.updated_at = now
    logger.info(
        "alert_episode_notified",
        extra={"episode_id": str(episode.pk), "rule": episode.rule, "severity": episode.severity, "kind": kind},
    )


def episode_data(episode: AlertEpisode) -> dict[str, Any]:
    return {
        "episode_id": str(episode.pk),
        "rule": episode.rule,
        "metric_type": episode.metric_type or None,
        "severity": episode.severity,
    }
