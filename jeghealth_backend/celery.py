"""The Celery application. Configuration lives in settings (`CELERY_*`), including the beat schedule.

Tasks inherit `BaseTask`: transient failures (database, broker, network) retry with exponential backoff and
jitter up to a cap; anything else is a permanent failure that the task's service records instead.
"""

from __future__ import annotations

import os

from celery import Celery, Task, signals
from django.db import OperationalError as DatabaseOperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jeghealth_backend.settings.base")


class BaseTask(Task):
    # A database that restarted or dropped the connection is transient too: retry after backoff (checklist D10).
    autoretry_for = (ConnectionError, TimeoutError, OSError, DatabaseOperationalError)
    retry_backoff = 2
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 5


app = Celery("jeghealth_backend", task_cls=BaseTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _close_stale_connections(task=None, **_kwargs) -> None:
    # A worker outlives database restarts: drop connections that died or outlived CONN_MAX_AGE around each task.
    # An eager task runs in the caller's process, inside its request and perhaps its transaction: that connection
    # is the caller's, and closing it there would break the transaction (and every test on PostgreSQL).
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()


signals.task_prerun.connect(_close_stale_connections, weak=False)
signals.task_postrun.connect(_close_stale_connections, weak=False)


@signals.setup_logging.connect
def _use_django_logging(**_kwargs) -> None:
    """Workers log through Django's LOGGING (JSON lines) instead of Celery's own format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
