"""Report tasks on the `reports` queue. Thin: ids in, one service call; generation is idempotent through the
report row's claim, so late acknowledgement and redelivery are safe."""

from __future__ import annotations

import logging
import random

from celery import shared_task

from . import services
from .exceptions import ReportStorageUnavailable

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 15
RETRY_MAX_SECONDS = 300


@shared_task(bind=True, name="reports.generate", max_retries=4)
def generate_report(self, report_id: str) -> str:
    """Generate one report. A storage outage retries with backoff and jitter; past the retries the report stays
    `pending` and the sweeper enqueues it again, until the service's attempt cap fails it."""
    try:
        outcome = services.report_generate(report_id=report_id)
    except ReportStorageUnavailable as exc:
        if self.request.retries >= self.max_retries:
            logger.warning("report_retries_exhausted", extra={"report_id": report_id})
            return "released"
        delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=delay + random.uniform(0, delay / 4)) from exc  # noqa: S311 - jitter
    return outcome.value


@shared_task(name="reports.requeue_stale")
def requeue_stale() -> int:
    """Every two minutes (CELERY_BEAT_SCHEDULE): the outbox sweeper for reports no worker finished."""
    return services.reports_requeue_stale()


@shared_task(name="reports.purge_expired")
def purge_expired() -> int:
    """Hourly (CELERY_BEAT_SCHEDULE): reports past REPORT_RETENTION_DAYS and orphaned files are deleted."""
    return services.reports_purge_expired()
