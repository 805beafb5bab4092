"""Thin tasks on the `default` queue (CELERY_TASK_DEFAULT_QUEUE): ids in, one service call.

Each is idempotent (rollups are recomputed from the readings, anomaly flags are claimed by a conditional
update), so late acknowledgement and redelivery are safe."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from .anomalies import anomalies_detect, anomaly_checks_sweep
from .models import PendingAnomalyCheck, PendingRollup
from .selectors import BatchReadings
from .summaries import rollups_reconcile, rollups_refresh_pending, rollups_sweep

logger = logging.getLogger(__name__)


@shared_task(name="health_metrics.refresh_rollups")
def refresh_rollups(user_id: str, pending_ids: list[str]) -> None:
    pending = list(PendingRollup.objects.filter(user_id=user_id, pk__in=pending_ids))
    if not pending:
        logger.info("health_metrics_rollups_already_refreshed", extra={"user_id": user_id})
        return
    rollups_refresh_pending(pending=pending)


@shared_task(name="health_metrics.detect_anomalies")
def detect_anomalies(
    user_id: str, metric_ids: list[str], check_id: str | None = None, batch: dict | None = None
) -> None:
    # BATCH: a BatchReadings as task argument, for the readings of one device batch instead of METRIC_IDS.
    batch_readings = BatchReadings.from_task_arg(batch) if batch else None
    anomalies_detect(user_id=user_id, metric_ids=metric_ids, batch=batch_readings)
    if check_id:
        PendingAnomalyCheck.objects.filter(pk=check_id).delete()


@shared_task(name="health_metrics.sweep_anomaly_checks")
def sweep_anomaly_checks() -> None:
    anomaly_checks_sweep(now=timezone.now())


@shared_task(name="health_metrics.sweep_rollups")
def sweep_rollups() -> None:
    rollups_sweep(now=timezone.now())


@shared_task(name="health_metrics.reconcile_rollups")
def reconcile_rollups() -> None:
    rollups_reconcile(now=timezone.now())
