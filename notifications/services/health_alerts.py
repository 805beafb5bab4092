"""Health and device alerts: a person's thresholds crossed by their readings, anomalies the health metrics
app flags, and device alerts. All of them reach the person (and, for a critical threshold, the emergency
contacts) through `notify`. These rules are moving to the `alerts` app.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from health_metrics.models import HealthMetric, Quality
from health_metrics.selectors import BatchReadings, readings_written
from notifications import selectors
from notifications.choices import SEVERITY_RANK, Category, EpisodeEndReason, Severity
from notifications.contact_message import ContactMessage
from notifications.models import AlertEpisode, AlertThreshold, Notification
from notifications.thresholds import APP_NAME, alert_content, anomaly_content, find_crossing

from .delivery import notify

logger = logging.getLogger("jeghealth.notifications")

# Episodes: crossing readings less than this apart belong to one episode (alerted once).
EPISODE_GAP = timedelta(hours=6)
# Readings recorded longer ago than this (late offline uploads) are history, not something to alert on now.
MAX_READING_AGE = timedelta(hours=24)


@transaction.atomic
def readings_check_thresholds(
    *, user_id, reading_ids: Iterable = (), batch: BatchReadings | None = None
) -> list[Notification]:
    """Evaluate new readings of one person against their thresholds; raise a health alert per new episode.

    Readings are taken in `recorded_at` order. An episode of a threshold opens with a crossing reading and
    alerts once (`health_alert`, the threshold's severity); it ends with a reading back in range or when no
    crossing reading follows within EPISODE_GAP. When one reading opens episodes of several thresholds of the
    same metric, only the most severe alerts. A critical alert also reaches the emergency contacts with
    `notify_on_critical` (e-mail, or SMS), within the daily quotas (`notify`'s contacts). Ignored: readings of
    other people, suspect readings, readings recorded more than MAX_READING_AGE ago, and readings older than the
    newest one already evaluated against that threshold. Answers the notifications created. Safe to call twice
    with the same readings. The readings are READING_IDS, or those a device BATCH stored.
    """
    reading_ids = list(reading_ids)
    if not reading_ids and batch is None:
        return []
    # Locking the person's thresholds serialises concurrent checks (two uploads at once) for this person.
    thresholds = list(AlertThreshold.objects.select_for_update().filter(user_id=user_id).order_by("id"))
    if not thresholds:
        return []
    now = timezone.now()
    readings = list(
        readings_written(user_id=user_id, ids=reading_ids, batch=batch)
        .filter(
            metric_type__in={t.metric_type for t in thresholds},
            recorded_at__gte=now - MAX_READING_AGE,
        )
        .exclude(quality=Quality.SUSPECT)
        .order_by("recorded_at", "id")
    )
    if not readings:
        return []
    open_episodes = {
        e.threshold_id: e
        for e in AlertEpisode.objects.select_for_update().filter(threshold__in=thresholds, ended_at__isnull=True)
    }
    opened: list[tuple[Any, AlertThreshold, AlertEpisode, Any]] = []
    for threshold in thresholds:
        evaluated_until = threshold.evaluated_until
        for reading in readings:
            if reading.metric_type == threshold.metric_type:
                _advance_episode(threshold, reading, open_episodes, opened)
        if threshold.evaluated_until != evaluated_until:
            AlertThreshold.objects.filter(pk=threshold.pk).update(evaluated_until=threshold.evaluated_until)
    for episode in open_episodes.values():
        episode.save(update_fields=["last_crossing_at", "reading_count"])
    return _alert_opened_episodes(user_id=user_id, opened=opened)


def _advance_episode(threshold: AlertThreshold, reading, open_episodes: dict, opened: list) -> None:
    at = reading.recorded_at
    if threshold.evaluated_until is not None and at <= threshold.evaluated_until:
        return
    threshold.evaluated_until = at
    crossing = find_crossing(threshold, reading)
    episode = open_episodes.get(threshold.pk)
    if episode is not None:
        gap_passed = at - episode.last_crossing_at > EPISODE_GAP
        if gap_passed:
            _end_episode(episode, ended_at=episode.last_crossing_at + EPISODE_GAP, reason=EpisodeEndReason.QUIET)
        elif crossing is None:
            _end_episode(episode, ended_at=at, reason=EpisodeEndReason.BACK_IN_RANGE)
        if gap_passed or crossing is None:
            del open_episodes[threshold.pk]
            episode = None
    if crossing is None:
        return
    if episode is not None:
        episode.last_crossing_at = at
        episode.reading_count += 1
        return
    episode = AlertEpisode.objects.create(
        threshold=threshold, started_at=at, last_crossing_at=at, first_reading_id=str(reading.pk)
    )
    open_episodes[threshold.pk] = episode
    opened.append((reading, threshold, episode, crossing))


def _end_episode(episode: AlertEpisode, *, ended_at, reason: str) -> None:
    episode.ended_at, episode.end_reason = ended_at, reason
    episode.save(update_fields=["ended_at", "end_reason", "last_crossing_at", "reading_count"])


def _alert_opened_episodes(*, user_id, opened: list) -> list[Notification]:
    if not opened:
        return []
    user = get_user_model().objects.select_related("profile").get(pk=user_id)
    tz = user.profile.tzinfo
    most_severe: dict[Any, tuple] = {}
    for item in opened:
        reading, threshold = item[0], item[1]
        best = most_severe.get(reading.pk)
        if best is None or SEVERITY_RANK[threshold.severity] > SEVERITY_RANK[best[1].severity]:
            most_severe[reading.pk] = item
    notifications = []
    for reading, threshold, episode, crossing in most_severe.values():
        title, body, data = alert_content(
            threshold=threshold, reading=reading, crossing=crossing, episode_id=str(episode.pk), tz=tz
        )
        critical = threshold.severity == Severity.CRITICAL
        notification = notify(
            user=user,
            category=Category.HEALTH_ALERT,
            title=title,
            body=body,
            data=data,
            severity=threshold.severity,
            dedupe_key=f"health_alert:episode:{episode.pk}",
            contacts=selectors.emergency_contacts_to_alert(user=user) if critical else (),
            contact_message=_contact_message(user) if critical else None,
        )
        AlertEpisode.objects.filter(pk=episode.pk).update(notification=notification)
        notifications.append(notification)
    return notifications


def _contact_message(user) -> ContactMessage:
    """What emergency contacts read of a critical alert: an urgent reading, and how to reach the person."""
    name = user.full_name
    reach = f" (phone {user.phone_number})" if user.phone_number else ""
    text = (
        f"{name} named you as an emergency contact in {APP_NAME}. One of their readings is urgent.\n\n"
        f"Please check on them{reach}. If you think they are in danger, call your local emergency number.\n\n"
        f"You receive this because {name} asked that you be told about urgent readings."
    )
    sms = f"{APP_NAME}: an urgent reading for {name}. Please check on them{reach}."
    subject = f"{APP_NAME}: urgent reading for {name}"
    return ContactMessage(subject=subject[:200], text=text, sms=sms[:320])


def anomaly_notify(*, reading: HealthMetric) -> Notification:
    """Tell the person about a reading the health metrics app flagged as anomalous; once per reading.

    `critical` when one of the reasons is a critical clinical threshold, `warning` otherwise. Emergency contacts
    are told of the person's own critical thresholds only (readings_check_thresholds), not of these.
    """
    user = get_user_model().objects.select_related("profile").get(pk=reading.user_id)
    title, body, data, severity = anomaly_content(reading=reading, tz=user.profile.tzinfo)
    return notify(
        user=user,
        category=Category.HEALTH_ALERT,
        title=title,
        body=body,
        data=data,
        severity=severity,
        dedupe_key=f"anomaly:{reading.pk}",
    )


def device_key_expiring_notify(*, device: Any) -> Notification:
    """Tell a device's owner that its API key (`iot_devices.models.IoTDevice`) expires soon; once per key."""
    expires_at = device.key_expires_at
    when = expires_at.date().isoformat()
    return notify(
        user=device.owner,
        category=Category.DEVICE_ALERT,
        title=f"{device.name}: its key expires on {when}",
        body=f"Give {device.name} a new key in the app before {when}, or it will stop uploading readings.",
        data={"device_id": str(device.pk), "api_key_expires_at": expires_at.isoformat()},
        severity=Severity.WARNING,
        dedupe_key=f"device_key_expiring:{device.pk}:{device.key_prefix}",
    )


def device_alert_notify(*, alert: Any) -> Notification:
    """Tell a device's owner about a new device alert (`iot_devices.models.DeviceAlert`); once per alert."""
    device = alert.device
    severity = alert.severity if alert.severity in Severity.values else Severity.WARNING
    return notify(
        user=device.owner,
        category=Category.DEVICE_ALERT,
        title=f"{device.name}: {alert.get_alert_type_display().lower()}",
        body=alert.message,
        data={"alert_id": str(alert.pk), "device_id": str(device.pk), "alert_type": alert.alert_type},
        severity=severity,
        dedupe_key=f"device_alert:{alert.pk}",
    )
