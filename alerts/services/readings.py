"""The reading rules: clinical thresholds, the person's own thresholds and the personal baseline, per metric.

`readings_judged` takes every reading one write stored (flagged or not, as `ReadingFact`s) and moves the person's
episodes: a crossing reading opens an episode of its (rule, metric) or joins the live one, a reading back in range
closes it, a silence longer than the gap closes it too. Readings recorded more than ALERT_MAX_READING_AGE_HOURS
ago move nothing: if any of them crosses a rule, the upload adds one digest notification instead. The cost is per
upload and per episode, never per reading: a backlog of thousands of flagged readings is one digest.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notifications.choices import Category
from notifications.services import notify

from .. import notices
from ..choices import READING_RULES, CloseReason, Rule, Severity
from ..facts import ReadingFact, Upload
from ..models import AlertEpisode, AlertThreshold, EpisodeReading, MetricCursor
from ..thresholds import Crossing, most_severe_crossing
from .episodes import Event, close_if_quiet, episode_close, episode_open, max_reading_age, raise_severity, rank, tell

logger = logging.getLogger("jeghealth.alerts")


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one rule says of one reading: its level, how far out it is, and what to tell about it."""

    level: str
    score: float
    detail: dict[str, Any]


@dataclass(frozen=True)
class JudgedUpload:
    """What `readings_judged` did: the events it told the person about, and how many old readings it flagged."""

    events: list[Event]
    digest_flagged: int


@transaction.atomic
def readings_judged(*, user_id: uuid.UUID | str, facts: Sequence[ReadingFact], upload: Upload) -> JudgedUpload:
    """Move USER_ID's reading episodes with FACTS, the readings UPLOAD stored; safe to run twice for one upload.

    Readings at or before a metric's cursor (`MetricCursor`) are skipped, so a redelivery, or a late reading older
    than one already judged, moves nothing; old readings only count toward the upload's digest, whose dedupe key is
    the upload's. Locks the person's cursors of the metric types in FACTS (in a fixed order) for the transaction.
    """
    now = timezone.now()
    fresh_after = now - max_reading_age()
    # Ties broken by id (a UUID orders as its text does), so that a redelivery walks the readings in the same order.
    facts = sorted(facts, key=attrgetter("recorded_at", "reading_id"))
    thresholds = _thresholds_by_metric(user_id)
    fresh: list[tuple[ReadingFact, dict[str, Judgement | None]]] = []
    digest_flagged = 0
    digest_level = Severity.INFO
    for fact in facts:
        if fact.suspect:
            continue
        if fact.recorded_at < fresh_after:
            # An old reading only counts toward the digest: its level, without the details of a judgement.
            level = _old_level(fact, thresholds.get(fact.metric_type, ()))
            if level is not None:
                digest_flagged += 1
                digest_level = max(digest_level, level, key=rank)
            continue
        fresh.append((fact, _judge(fact, thresholds.get(fact.metric_type, ()))))

    events = _advance(user_id, fresh) if fresh else []
    user = None
    if events or digest_flagged:
        user = get_user_model().objects.select_related("profile").get(pk=user_id)
    if events:
        _tell_events(user, events)
    if digest_flagged:
        _tell_digest(user, upload, digest_flagged, digest_level)
    return JudgedUpload(events=events, digest_flagged=digest_flagged)


def _thresholds_by_metric(user_id) -> dict[str, list[AlertThreshold]]:
    found: dict[str, list[AlertThreshold]] = defaultdict(list)
    for threshold in AlertThreshold.objects.filter(user_id=user_id).order_by("id"):
        found[threshold.metric_type].append(threshold)
    return found


def _old_level(fact: ReadingFact, thresholds: Sequence[AlertThreshold]) -> str | None:
    """The most severe level any rule gives FACT, as `_judge` would find it, or None when none flags it."""
    levels = [fact.clinical] if fact.clinical is not None else []
    if fact.baseline_z is not None:
        levels.append(Severity.WARNING)
    if thresholds:
        crossing = most_severe_crossing(thresholds, fact)
        if crossing is not None:
            levels.append(crossing.severity)
    return max(levels, key=rank) if levels else None


def _judge(fact: ReadingFact, thresholds: Iterable[AlertThreshold]) -> dict[str, Judgement | None]:
    clinical = None
    if fact.clinical is not None:
        clinical = Judgement(fact.clinical, fact.clinical_excess, {"reasons": list(fact.clinical_reasons)})
    personal = None
    crossing: Crossing | None = most_severe_crossing(thresholds, fact)
    if crossing is not None:
        personal = Judgement(crossing.severity, crossing.excess, crossing.as_data())
    baseline = None
    if fact.baseline_z is not None:
        baseline = Judgement(Severity.WARNING, fact.baseline_z, {"robust_z": round(fact.baseline_z, 2)})
    return {Rule.CLINICAL_THRESHOLD: clinical, Rule.PERSONAL_THRESHOLD: personal, Rule.BASELINE_ANOMALY: baseline}


def _advance(user_id, fresh: list[tuple[ReadingFact, dict[str, Judgement | None]]]) -> list[Event]:
    metric_types = sorted({fact.metric_type for fact, _ in fresh})
    cursors = _lock_cursors(user_id, metric_types)
    live: dict[tuple[str, str], AlertEpisode] = {
        (e.rule, e.metric_type): e
        for e in AlertEpisode.objects.select_for_update().filter(
            user_id=user_id, rule__in=READING_RULES, metric_type__in=metric_types, closed_at__isnull=True
        )
    }
    touched: dict[uuid.UUID, AlertEpisode] = {}
    links: list[EpisodeReading] = []
    events: dict[uuid.UUID, Event] = {}
    judged_until = {t: cursors[t].judged_until for t in metric_types}
    for fact, judged in fresh:
        until = judged_until[fact.metric_type]
        if until is not None and fact.recorded_at <= until:
            continue
        judged_until[fact.metric_type] = fact.recorded_at
        for rule, judgement in judged.items():
            key = (rule, fact.metric_type)
            episode = close_if_quiet(live.get(key), fact.recorded_at)
            if episode is None:
                live.pop(key, None)
            if judgement is None:
                if episode is not None:
                    episode_close(episode, at=fact.recorded_at, reason=CloseReason.BACK_IN_RANGE)
                    live.pop(key)
                    touched.pop(episode.pk, None)
                continue
            if episode is None:
                episode = episode_open(
                    user_id=user_id,
                    rule=rule,
                    severity=judgement.level,
                    at=fact.recorded_at,
                    metric_type=fact.metric_type,
                )
                live[key] = episode
                events[episode.pk] = Event(episode, "opened", _event_detail(fact, judgement))
            elif raise_severity(episode, judgement.level):
                events[episode.pk] = Event(episode, "severity_rose", _event_detail(fact, judgement))
            _collect(episode, fact, judgement)
            touched[episode.pk] = episode
            links.append(EpisodeReading(episode=episode, reading_id=fact.reading_id, recorded_at=fact.recorded_at))
    for episode in touched.values():
        episode.updated_at = timezone.now()
        episode.save()
    # A link to an episode closed later in the same upload is kept: the episode did hold that reading.
    EpisodeReading.objects.bulk_create(links, ignore_conflicts=True)
    for metric_type, until in judged_until.items():
        if until != cursors[metric_type].judged_until:
            MetricCursor.objects.filter(pk=cursors[metric_type].pk).update(judged_until=until)
    # Events of episodes that closed again within the same upload are still told: the person had that reading.
    return list(events.values())


def _lock_cursors(user_id, metric_types: list[str]) -> dict[str, MetricCursor]:
    MetricCursor.objects.bulk_create(
        [MetricCursor(user_id=user_id, metric_type=t) for t in metric_types], ignore_conflicts=True
    )
    rows = MetricCursor.objects.select_for_update().filter(user_id=user_id, metric_type__in=metric_types)
    return {cursor.metric_type: cursor for cursor in rows.order_by("metric_type")}


def _collect(episode: AlertEpisode, fact: ReadingFact, judgement: Judgement) -> None:
    episode.reading_count += 1
    episode.last_reading_at = episode.last_signal_at = fact.recorded_at
    score = rank(judgement.level) * 1000 + judgement.score
    if episode.worst_score is None or score > episode.worst_score:
        episode.worst_score = score
        episode.worst = {
            "id": str(fact.reading_id),
            **fact.values,
            "unit": fact.unit,
            "recorded_at": fact.recorded_at.isoformat(),
        }


def _event_detail(fact: ReadingFact, judgement: Judgement) -> dict[str, Any]:
    return {
        "reading_id": str(fact.reading_id),
        **fact.values,
        "unit": fact.unit,
        "recorded_at": fact.recorded_at.isoformat(),
        "level": judgement.level,
        **judgement.detail,
    }


def _tell_events(user, events: list[Event]) -> None:
    """One notification per reading that opened or raised episodes: the most severe of them speaks for all."""
    tz = user.profile.tzinfo
    by_reading: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_reading[event.detail["reading_id"]].append(event)
    for group in by_reading.values():
        group.sort(key=lambda e: (rank(e.episode.severity), _rule_order(e.episode.rule)), reverse=True)
        lead = group[0]
        at = notices.local_time(datetime.fromisoformat(lead.detail["recorded_at"]), tz)
        notice = notices.reading_notice(
            rule=lead.episode.rule,
            severity=lead.episode.severity,
            metric_type=lead.episode.metric_type,
            detail=lead.detail,
            at=at,
        )
        data = {**lead.detail, "recorded_local": at, "also": [str(e.episode.pk) for e in group[1:]]}
        tell(user=user, episode=lead.episode, category=Category.HEALTH_ALERT, notice=notice, data=data, kind=lead.kind)
        for other in group[1:]:
            # Told through the lead's notification: the person heard of this reading once.
            other.episode.notified_severity = other.episode.severity
        for event in group:
            event.episode.save()


def _rule_order(rule: str) -> int:
    # Between equally severe episodes, the person's own threshold speaks first (they chose its words), then the
    # clinical one, then the baseline.
    return {Rule.PERSONAL_THRESHOLD: 2, Rule.CLINICAL_THRESHOLD: 1, Rule.BASELINE_ANOMALY: 0}[rule]


def _tell_digest(user, upload: Upload, flagged: int, level: str) -> None:
    from django.conf import settings

    notice = notices.digest_notice(flagged=flagged, max_age_hours=settings.ALERT_MAX_READING_AGE_HOURS)
    notify(
        user=user,
        category=Category.HEALTH_ALERT,
        title=notice.title,
        body=notice.body,
        data={
            "kind": "digest",
            "flagged_count": flagged,
            "batch": str(upload.batch_id) if upload.batch_id else None,
        },
        # Old readings are history: never critical, so no escalation and quiet hours hold.
        severity=Severity.WARNING if level != Severity.INFO else Severity.INFO,
        dedupe_key=f"alert:digest:{upload.key}",
    )
    logger.info("alert_digest", extra={"user_id": str(user.pk), "upload": upload.key, "flagged": flagged})


def readings_forgotten(*, user_id: uuid.UUID | str, reading_ids: Iterable[uuid.UUID | str]) -> None:
    """Deleted readings leave the episodes that held them (the episode's counts and worst stay as they were)."""
    EpisodeReading.objects.filter(episode__user_id=user_id, reading_id__in=list(reading_ids)).delete()
