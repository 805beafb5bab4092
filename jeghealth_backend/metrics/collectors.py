"""Figures read from PostgreSQL at scrape time: right whichever process answers, and nothing to keep in step.

The ground floor reads two apps' tables here by model label (`apps.get_model`), never by import: metrics
observe every floor, and no app has to know about them. Both queries are cheap: the backlog uses the partial
index of unfinished batches, the deliveries one GROUP BY over a two-column key.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

UNFINISHED_BATCH_STATUSES = ("received", "processing")


class DatabaseCollector:
    """The device batch backlog (batches received or processing, not final yet) and the notification
    deliveries by channel and status."""

    def collect(self):
        try:
            families = [*self._backlog(), self._deliveries()]
        except DatabaseError:
            logger.warning("metrics_database_unavailable", exc_info=True)
            return
        yield from families

    @staticmethod
    def _backlog():
        batches = apps.get_model("iot_devices", "DeviceDataBatch").objects.filter(status__in=UNFINISHED_BATCH_STATUSES)
        counts = dict(batches.values_list("status").annotate(n=Count("id")).order_by())
        backlog = GaugeMetricFamily(
            "jeghealth_device_batches_backlog", "Device batches stored but not final yet, by status.", labels=["status"]
        )
        for status in UNFINISHED_BATCH_STATUSES:
            backlog.add_metric([status], counts.get(status, 0))
        oldest = batches.aggregate(oldest=Min("received_at"))["oldest"]
        age = GaugeMetricFamily(
            "jeghealth_device_batches_backlog_oldest_seconds",
            "Age of the oldest device batch not final yet (0 when there is none).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0,
        )
        return [backlog, age]

    @staticmethod
    def _deliveries():
        rows = (
            apps.get_model("notifications", "NotificationDelivery")
            .objects.values_list("channel", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        family = GaugeMetricFamily(
            "jeghealth_notification_deliveries",
            "Notification deliveries stored, by channel and outcome (pending, sending, sent, failed, skipped).",
            labels=["channel", "status"],
        )
        for channel, status, count in rows:
            family.add_metric([channel, status], count)
        return family
