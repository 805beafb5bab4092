"""Critical episodes until someone reacts: reminders, one escalation to the care circle, and acknowledgement.

The schedule is in the episode rows (`next_reminder_at`, `critical_since`, `escalated_at`), and beat's
`alerts.run_due` finds the due work there every minute. Each reminder and the escalation is claimed on its row
(locked, re-checked, then updated) in the same transaction as the notifications it sends, whose deliveries the
notification engine then sends at most once each: a lost task, a worker killed mid-way or a broker outage delays
the work to the next run, and never drops or doubles it. The dedupe keys of those notifications are a second
guard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_record
from accounts.choices import AuditAction, CareScope
from accounts.selectors import care_grantees
from jeghealth_backend.person_cache import person_data_changed
from notifications.choices import Category
from notifications.selectors import emergency_contacts_to_alert
from notifications.services import notify

from .. import notices
from ..choices import DEVICE_RULES, READING_RULES, CloseReason, EpisodeStatus, Severity
from ..models import AlertEpisode
from .episodes import EPISODE_GAP, MAX_REMINDERS, episode_close, escalate_after, repeat_every

logger = logging.getLogger("jeghealth.alerts")

DUE_BATCH = 200


@dataclass(frozen=True)
class DueWork:
    reminders: int
    escalations: int
    closed: int


def episodes_run_due(*, now: datetime | None = None) -> DueWork:
    """Send the reminders and escalations that are due, and close episodes that went quiet. Run by beat."""
    now = now or timezone.now()
    critical = AlertEpisode.objects.filter(status=EpisodeStatus.OPEN, severity=Severity.CRITICAL)
    escalations = sum(
        _escalate(pk, now)
        for pk in critical.filter(escalated_at__isnull=True, critical_since__lte=now - escalate_after())
        .order_by("critical_since")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    reminders = sum(
        _remind(pk, now)
        for pk in critical.filter(reminders_sent__lt=MAX_REMINDERS, next_reminder_at__lte=now)
        .order_by("next_reminder_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    closed = _close_quiet(now)
    if reminders or escalations or closed:
        logger.info("alerts_due_run", extra={"reminders": reminders, "escalations": escalations, "closed": closed})
    return DueWork(reminders=reminders, escalations=escalations, closed=closed)


def _claim(pk, condition: Q) -> AlertEpisode | None:
    # skip_locked: two beat runs at once (a second beat, a slow run) split the rows instead of both sending; the
    # condition is checked again under the lock, so a row acknowledged meanwhile is left alone.
    return (
        AlertEpisode.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user__profile")
        .filter(condition, pk=pk, status=EpisodeStatus.OPEN, severity=Severity.CRITICAL)
        .first()
    )


@transaction.atomic
def _remind(pk, now: datetime) -> int:
    episode = _claim(pk, Q(reminders_sent__lt=MAX_REMINDERS, next_reminder_at__lte=now))
    if episode is None:
        return 0
    number = episode.reminders_sent + 1
    episode.reminders_sent = number
    episode.next_reminder_at = now + repeat_every() if number < MAX_REMINDERS else None
    episode.updated_at = now
    episode.save(update_fields=["reminders_sent", "next_reminder_at", "updated_at"])
    notice = notices.reminder_notice(metric_type=episode.metric_type, at=_when(episode), number=number)
    notify(
        user=episode.user,
        category=Category.HEALTH_ALERT,
        title=notice.title,
        body=notice.body,
        data={"kind": "reminder", "episode_id": str(episode.pk), "reminder": number},
        severity=Severity.CRITICAL,
        dedupe_key=f"alert:{episode.pk}:{episode.critical_since.isoformat()}:reminder:{number}",
    )
    return 1


@transaction.atomic
def _escalate(pk, now: datetime) -> int:
    episode = _claim(pk, Q(escalated_at__isnull=True, critical_since__lte=now - escalate_after()))
    if episode is None:
        return 0
    episode.escalated_at = now
    episode.updated_at = now
    episode.save(update_fields=["escalated_at", "updated_at"])
    patient = episode.user
    key = f"alert:{episode.pk}:{episode.critical_since.isoformat()}:escalation"
    grantees = list(care_grantees(patient_id=patient.pk, scope=CareScope.ALERTS).select_related("profile"))
    for grantee in grantees:
        notice = notices.caregiver_notice(patient_name=patient.full_name, at=_when(episode, grantee.profile.tzinfo))
        notify(
            user=grantee,
            category=Category.HEALTH_ALERT,
            title=notice.title,
            body=notice.body,
            data={
                "kind": "escalation",
                "episode_id": str(episode.pk),
                "patient": {"id": str(patient.pk), "name": patient.full_name},
            },
            severity=Severity.CRITICAL,
            dedupe_key=key,
        )
    contacts = emergency_contacts_to_alert(user=patient)
    if grantees or contacts:
        at = _when(episode)
        notice = notices.escalated_notice(at=at, told_caregivers=len(grantees), told_contacts=len(contacts))
        notify(
            user=patient,
            category=Category.HEALTH_ALERT,
            title=notice.title,
            body=notice.body,
            data={"kind": "escalation", "episode_id": str(episode.pk), "caregivers": len(grantees)},
            severity=Severity.CRITICAL,
            dedupe_key=key,
            contacts=contacts,
            contact_message=notices.contact_message(
                patient_name=patient.full_name, patient_phone=patient.phone_number, at=at
            ),
        )
    logger.warning(
        "alert_escalated",
        extra={"episode_id": str(episode.pk), "caregivers": len(grantees), "contacts": len(contacts)},
    )
    return 1


def _when(episode: AlertEpisode, tz=None) -> str:
    """The local time of the reading that made the episode urgent (its worst), in TZ or the person's zone."""
    worst = (episode.worst or {}).get("recorded_at")
    at = datetime.fromisoformat(worst) if worst else episode.opened_at
    return notices.local_time(at, tz or episode.user.profile.tzinfo)


def _close_quiet(now: datetime) -> int:
    """Close live reading and dose episodes that heard nothing for the quiet gap. A critical one stays live at
    least the gap after the person was told, so that its reminders and escalation can run."""
    quiet = (
        AlertEpisode.objects.filter(closed_at__isnull=True, last_signal_at__lt=now - EPISODE_GAP)
        .exclude(rule__in=DEVICE_RULES)
        .filter(Q(critical_since__isnull=True) | Q(critical_since__lt=now - EPISODE_GAP))
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    closed = 0
    for pk in quiet:
        with transaction.atomic():
            episode = (
                AlertEpisode.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, closed_at__isnull=True, last_signal_at__lt=now - EPISODE_GAP)
                .first()
            )
            if episode is not None:
                episode_close(episode, at=episode.last_signal_at + EPISODE_GAP, reason=CloseReason.QUIET)
                closed += 1
    return closed


@transaction.atomic
def episode_acknowledge(*, episode: AlertEpisode, by, request=None) -> AlertEpisode:
    """BY (the person, or a caregiver or doctor holding an `alerts` grant) saw the episode: its reminders and
    escalation stop. The person's other live episodes of the same metric (a reading that crossed a clinical and a
    personal threshold at once was told once) are acknowledged with it. Acknowledging again changes nothing.
    Someone else's acknowledgement is audited."""
    episode = AlertEpisode.objects.select_for_update(of=("self",)).select_related("user").get(pk=episode.pk)
    acknowledged = [episode] if episode.acknowledged_at is None else []
    if acknowledged and episode.metric_type and episode.rule in READING_RULES:
        acknowledged += list(
            AlertEpisode.objects.select_for_update()
            .filter(user_id=episode.user_id, metric_type=episode.metric_type, rule__in=READING_RULES)
            .filter(status=EpisodeStatus.OPEN)
            .exclude(pk=episode.pk)
        )
    now = timezone.now()
    for item in acknowledged:
        item.acknowledged_by = by
        item.acknowledged_by_name = by.full_name
        item.acknowledged_at = now
        if item.status == EpisodeStatus.OPEN:
            item.status = EpisodeStatus.ACKNOWLEDGED
        item.next_reminder_at = None
        item.updated_at = now
        item.save()
    if acknowledged:
        person_data_changed(episode.user_id)
        logger.info(
            "alert_acknowledged",
            extra={"episode_id": str(episode.pk), "episodes": len(acknowledged), "by_self": by.pk == episode.user_id},
        )
    audit_record(
        actor=by,
        patient=episode.user,
        action=AuditAction.UPDATE,
        resource_type="alert_episode",
        resource_ids=[str(item.pk) for item in acknowledged] or [str(episode.pk)],
        request=request,
    )
    return episode
