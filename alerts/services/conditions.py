"""The rules about a device (stopped sending, runs low) and about doses (one left unlogged past its grace window).

A device condition is a state: its episode opens when the device app raises the condition and closes when the
condition ends (the device is heard from, the battery is charged), however long that takes. Missed doses are
events: one episode per regimen collects the misses that follow each other within the quiet gap, and a dose
logged as taken closes it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.choices import Category

from .. import notices
from ..choices import DEVICE_RULES, CloseReason, Rule, Severity
from ..facts import DeviceCondition, MissedDose
from ..models import AlertEpisode
from .episodes import close_if_quiet, episode_close, episode_open, max_reading_age, tell

logger = logging.getLogger("jeghealth.alerts")


def _live(*, user_id, rule: str, subject_key: str) -> AlertEpisode | None:
    return (
        AlertEpisode.objects.select_for_update()
        .filter(user_id=user_id, rule=rule, metric_type="", subject_key=subject_key, closed_at__isnull=True)
        .first()
    )


@transaction.atomic
def device_condition_changed(*, condition: DeviceCondition) -> AlertEpisode | None:
    """Open (and tell the owner of) or close the episode of a device's condition; the live episode, or None.

    A condition raised again while its episode is live adds nothing. Two workers raising it at once open one
    episode: the database's one-live-episode key decides.
    """
    if condition.rule not in DEVICE_RULES:
        raise ValueError(f"{condition.rule!r} is not a device rule.")
    key = str(condition.device_id)
    episode = _live(user_id=condition.owner_id, rule=condition.rule, subject_key=key)
    if not condition.active:
        if episode is not None:
            episode_close(episode, at=condition.at, reason=CloseReason.RESOLVED)
        return None
    if episode is not None:
        episode.last_signal_at = max(episode.last_signal_at, condition.at)
        episode.save(update_fields=["last_signal_at"])
        return episode
    try:
        with transaction.atomic():
            episode = episode_open(
                user_id=condition.owner_id,
                rule=condition.rule,
                severity=Severity.WARNING,
                at=condition.at,
                subject_key=key,
                subject_label=condition.device_name,
            )
    except IntegrityError:
        return _live(user_id=condition.owner_id, rule=condition.rule, subject_key=key)
    episode.reading_count = 1
    owner = get_user_model().objects.select_related("profile").get(pk=condition.owner_id)
    since = condition.last_seen_at or condition.at
    notice = notices.device_notice(
        rule=condition.rule,
        device_name=condition.device_name,
        at=notices.local_time(since, owner.profile.tzinfo),
        battery_level=condition.battery_level,
    )
    data = {"device_id": key, "battery_level": condition.battery_level}
    tell(user=owner, episode=episode, category=Category.DEVICE_ALERT, notice=notice, data=data, kind="opened")
    episode.save()
    return episode


@transaction.atomic
def device_forgotten(*, owner_id: uuid.UUID, device_id: uuid.UUID) -> int:
    """The device was removed: its live episodes close. Answers how many."""
    episodes = AlertEpisode.objects.select_for_update().filter(
        user_id=owner_id, rule__in=DEVICE_RULES, subject_key=str(device_id), closed_at__isnull=True
    )
    closed = 0
    for episode in episodes:
        episode_close(episode, at=timezone.now(), reason=CloseReason.DEVICE_REMOVED)
        closed += 1
    return closed


@transaction.atomic
def doses_missed(*, doses: Sequence[MissedDose]) -> int:
    """Move the missed-dose episodes with DOSES, each newly recorded as missed (the caller records each dose once).

    Doses due more than ALERT_MAX_READING_AGE_HOURS ago (the task was down for a day) are history: no episode.
    Answers how many episodes were opened.
    """
    fresh_after = timezone.now() - max_reading_age()
    by_regimen: dict[tuple, list[datetime]] = defaultdict(list)
    for dose in doses:
        if dose.scheduled_for >= fresh_after:
            by_regimen[(dose.user_id, dose.regimen_id)].append(dose.scheduled_for)
    opened = 0
    for (user_id, regimen_id), times in sorted(by_regimen.items(), key=lambda item: str(item[0])):
        key = str(regimen_id)
        episode = _live(user_id=user_id, rule=Rule.MISSED_DOSE, subject_key=key)
        for at in sorted(times):
            episode = close_if_quiet(episode, at)
            if episode is None:
                episode = episode_open(
                    user_id=user_id, rule=Rule.MISSED_DOSE, severity=Severity.WARNING, at=at, subject_key=key
                )
                _tell_missed(episode, at)
                opened += 1
            episode.reading_count += 1
            episode.last_signal_at = max(episode.last_signal_at, at)
            episode.save()
    return opened


def _tell_missed(episode: AlertEpisode, at: datetime) -> None:
    user = get_user_model().objects.select_related("profile").get(pk=episode.user_id)
    notice = notices.missed_dose_notice(at=notices.local_time(at, user.profile.tzinfo))
    data = {"regimen": episode.subject_key, "scheduled_for": at.isoformat()}
    tell(user=user, episode=episode, category=Category.MEDICATION_REMINDER, notice=notice, data=data, kind="opened")


@transaction.atomic
def dose_taken(*, user_id: uuid.UUID, regimen_id: uuid.UUID, at: datetime) -> None:
    """A dose of the regimen was logged as taken: its missed-dose episode is over."""
    episode = _live(user_id=user_id, rule=Rule.MISSED_DOSE, subject_key=str(regimen_id))
    if episode is not None:
        episode_close(episode, at=at, reason=CloseReason.RESOLVED)
