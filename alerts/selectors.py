"""Reads of alerts, every one scoped to a person: another person's episode is simply absent (404)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.access import grant_covers
from accounts.choices import CareScope

from .choices import EpisodeStatus, Severity
from .models import AlertEpisode, AlertThreshold, EpisodeReading

EPISODE_READINGS_SHOWN = 100


def episode_list(*, user) -> QuerySet[AlertEpisode]:
    """USER's episodes, newest first."""
    return AlertEpisode.objects.filter(user=user).select_related("acknowledged_by").order_by("-opened_at", "-id")


def episode_get(*, user, episode_id) -> AlertEpisode:
    return get_object_or_404(episode_list(user=user), pk=episode_id)


def episode_reading_ids(*, episode: AlertEpisode, limit: int = EPISODE_READINGS_SHOWN) -> list[str]:
    """The ids of the readings EPISODE holds, newest first, at most LIMIT."""
    links = EpisodeReading.objects.filter(episode=episode).order_by("-recorded_at", "-id")
    return [str(reading_id) for reading_id in links.values_list("reading_id", flat=True)[:limit]]


def episode_for_acknowledgement(*, by, episode_id) -> AlertEpisode:
    """The episode BY may acknowledge: their own, or one of a patient whose live grant to BY covers `alerts`.
    Anything else is a 404, exactly as for an episode that does not exist."""
    episode = get_object_or_404(AlertEpisode.objects.select_related("user"), pk=episode_id)
    if episode.user_id != by.pk and not grant_covers(grantee=by, patient_id=episode.user_id, scope=CareScope.ALERTS):
        raise Http404
    return episode


def open_alert_counts(*, user_ids: Iterable) -> dict[str, dict[str, int]]:
    """Per person of USER_IDS, how many live unacknowledged episodes are critical and how many warnings; one query."""
    rows = (
        AlertEpisode.objects.filter(user_id__in=list(user_ids), status=EpisodeStatus.OPEN)
        .filter(severity__in=[Severity.CRITICAL, Severity.WARNING])
        .values_list("user_id", "severity")
    )
    counts: dict[str, Counter] = {}
    for user_id, severity in rows:
        counts.setdefault(str(user_id), Counter())[severity] += 1
    return {
        user_id: {"critical": c[Severity.CRITICAL], "warning": c[Severity.WARNING]} for user_id, c in counts.items()
    }


def alert_threshold_list(*, user) -> QuerySet[AlertThreshold]:
    return AlertThreshold.objects.filter(user=user).order_by("metric_type", "severity", "id")
