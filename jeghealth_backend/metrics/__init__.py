"""Prometheus metrics at /metrics, on only with METRICS_ENABLED and only for METRICS_ALLOWED_IPS (others: 404).

- `jeghealth_http_request_duration_seconds{method, route, status}`: every request's latency by its URL pattern
  (`api/v1/devices/<pk>/`, never the path with its ids), from `middleware.MetricsMiddleware`.
- `jeghealth_celery_task_duration_seconds{task}`, `jeghealth_celery_task_failures_total{task}`,
  `jeghealth_celery_task_retries_total{task}`: Celery's task signals (`tasks.connect`).
- `jeghealth_device_batches_backlog{status}`, `jeghealth_device_batches_backlog_oldest_seconds` and
  `jeghealth_notification_deliveries{channel, status}`: read from PostgreSQL at scrape time (`collectors`), so
  they are right whichever process serves the scrape.

gunicorn's workers and Celery's pool children are separate processes: with METRICS_ENABLED each writes its
figures to files in METRICS_DIR (prometheus_client's multiprocess mode, `multiprocess`), and /metrics adds up the
files of every process that shares the folder (compose gives web and worker one volume).
"""

from __future__ import annotations

from django.conf import settings


def setup() -> None:
    """Called once per process from the api app's ready(): multiprocess mode first (before any metric exists),
    then the Celery signal handlers."""
    if not settings.METRICS_ENABLED:
        return
    from . import multiprocess, tasks

    multiprocess.enable(settings.METRICS_DIR)
    tasks.connect()
