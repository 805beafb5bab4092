"""Writes of the person's own alert thresholds. A change ends the live episode of that metric's thresholds: the
next crossing of the new bounds alerts afresh."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..choices import CloseReason, Rule
from ..exceptions import ThresholdInvalid
from ..models import AlertEpisode, AlertThreshold
from .episodes import episode_close


@transaction.atomic
def alert_threshold_create(*, user, data: dict) -> AlertThreshold:
    """Add a threshold; one per (metric, severity): a second answers ThresholdInvalid on `metric_type`."""
    try:
        with transaction.atomic():
            threshold = AlertThreshold.objects.create(user=user, **data)
    except IntegrityError:
        raise _duplicate(data) from None
    _thresholds_changed(user_id=user.pk, metric_type=threshold.metric_type)
    return threshold


@transaction.atomic
def alert_threshold_update(*, threshold: AlertThreshold, data: dict) -> AlertThreshold:
    """Change a threshold (its metric type too): the live episodes of the metric types involved end."""
    before = threshold.metric_type
    for field, value in data.items():
        setattr(threshold, field, value)
    try:
        with transaction.atomic():
            threshold.save()
    except IntegrityError:
        raise _duplicate(data) from None
    for metric_type in {before, threshold.metric_type}:
        _thresholds_changed(user_id=threshold.user_id, metric_type=metric_type)
    return threshold


@transaction.atomic
def alert_threshold_delete(*, threshold: AlertThreshold) -> None:
    user_id, metric_type = threshold.user_id, threshold.metric_type
    threshold.delete()
    _thresholds_changed(user_id=user_id, metric_type=metric_type)


def _thresholds_changed(*, user_id, metric_type: str) -> None:
    live = AlertEpisode.objects.select_for_update().filter(
        user_id=user_id, rule=Rule.PERSONAL_THRESHOLD, metric_type=metric_type, closed_at__isnull=True
    )
    for episode in live:
        episode_close(episode, at=timezone.now(), reason=CloseReason.THRESHOLD_CHANGED)


def _duplicate(data: dict) -> ThresholdInvalid:
    severity = data.get("severity", "this")
    return ThresholdInvalid("metric_type", f"You already have a {severity} threshold for this metric.")
