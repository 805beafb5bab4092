"""Ingestion and device-health tasks. Thin: ids in, one service call, idempotent through the batch row's claim."""

from __future__ import annotations

import logging

from celery import shared_task

from . import ingestion, services

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="iot_devices.process_batch")
def process_batch(self, batch_pk: str) -> str:
    """Process one uploaded batch. Safe to deliver any number of times (see ingestion.batch_process).

    When another delivery holds the batch's lease (a duplicate message, or the redelivery of a task whose worker
    was killed and whose lease has not run out yet), try again once that lease has expired; after the retries,
    the sweeper is the safety net.
    """
    result = ingestion.batch_process(batch_pk=batch_pk)
    if result.outcome is ingestion.Outcome.LEASED and self.request.retries < self.max_retries:
        raise self.retry(countdown=result.retry_in)
    if result.outcome is ingestion.Outcome.MISSING:
        logger.info("batch_missing", extra={"batch_pk": batch_pk})
    return result.outcome.value


@shared_task(name="iot_devices.requeue_stale_batches")
def requeue_stale_batches() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): the outbox sweeper for batches no worker finished."""
    return ingestion.batches_requeue_stale()


@shared_task(name="iot_devices.check_offline")
def check_offline() -> int:
    """Every five minutes (CELERY_BEAT_SCHEDULE): offline alerts for devices silent too long."""
    return services.devices_check_offline()


@shared_task(name="iot_devices.warn_expiring_keys")
def warn_expiring_keys() -> int:
    """Daily (CELERY_BEAT_SCHEDULE): owners of devices whose key expires soon are told, once per key."""
    return services.devices_warn_expiring_keys()
