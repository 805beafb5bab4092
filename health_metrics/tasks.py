"""Thin tasks on the `default` queue (CELERY_TASK_DEFAULT_QUEUE): ids in, one service call.

Each is idempotent (rollups are recomputed from the readings, anomaly flags are claimed by a conditional
update), so late acknowledgement and redelivery are safe."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from .anomalies import anomaly_check_run, anomaly_checks_sweep
from .integrity import readings_references_repair
from .models import PendingAnomalyCheck, PendingRollup
from .partitions import partitions_ensure
from .summaries import rollups_reconcile, rollups_refresh_pending, rollups_sweep
from .sync import tombstones_prune

logger = logging.getLogger(__name__)


@shared_task(name="health_metrics.refresh_rollups")
def refresh_rollups(user_id: str, pending_ids: list[str]) -> None:
    pending = list(PendingRollup.objects.filter(user_id=user_id, pk__in=pending_ids))
    if not pending:
        logger.info("health_metrics_rollups_already_refreshed", extra={"user_id": user_id})
        return
    rollups_refresh_pending(pending=pending)


@shared_task(name="health_metrics.detect_anomalies")
def detect_anomalies(check_id: str) -> None:
    """Detection (and the alert rules) for the readings of one write, named by its pending check. The check goes in
    the same transaction, so a redelivery after success finds nothing; before it, it does the same work again,
    which flags and tells nobody twice."""
    check = PendingAnomalyCheck.objects.filter(pk=check_id).first()
    if check is None:
        logger.info("health_metrics_anomaly_check_already_done", extra={"check_id": check_id})
        return
    anomaly_check_run(check)


@shared_task(name="health_metrics.sweep_anomaly_checks")
def sweep_anomaly_checks() -> None:
    anomaly_checks_sweep(now=timezone.now())


@shared_task(name="health_metrics.sweep_rollups")
def sweep_rollups() -> None:
    rollups_sweep(now=timezone.now())


@shared_task(name="health_metrics.reconcile_rollups")
def reconcile_rollups() -> None:
    rollups_reconcile(now=timezone.now())


@shared_task(name="health_metrics.check_references")
def check_references() -> list[int]:
    """Weekly: readings of a person or device that no longer exists are deleted or unlinked (integrity.py)."""
    return list(readings_references_repair())


@shared_task(name="health_metrics.prune_tombstones")
def prune_tombstones() -> int:
    """Daily: deletions older than the changes feed remembers are forgotten (sync.py)."""
    return tombstones_prune(now=timezone.now())


@shared_task(name="health_metrics.run_import", acks_late=True, reject_on_worker_lost=True)
def run_import(import_id: str) -> None:
    """One import; the job row is claimed by a conditional update, so a redelivery does nothing."""
    from .imports.run import import_run  # the import modules load parsers the web process rarely needs

    import_run(job_id=import_id)


@shared_task(name="health_metrics.requeue_stale_imports")
def requeue_stale_imports() -> int:
    """Every minute: imports whose enqueue failed or whose worker died are enqueued again (imports/run.py)."""
    from .imports.run import imports_requeue_stale

    return imports_requeue_stale()


@shared_task(name="health_metrics.ensure_partitions")
def ensure_partitions() -> list[str]:
    """Daily: the monthly partitions of the readings table exist MONTHS_AHEAD ahead (PostgreSQL; idempotent)."""
    return partitions_ensure(now=timezone.now())
