"""The Celery application. Configuration lives in settings (`CELERY_*`), including the beat schedule.

Tasks inherit `BaseTask`: transient failures (database, broker, network) retry with exponential backoff and
jitter up to a cap; anything else is a permanent failure that the task's service records instead.

A task published while a request is being served carries that request's id (`X-Request-ID`) in a message header,
and the worker puts it back into the log context while the task runs, so its JSON log lines (and those of the
tasks it enqueues in turn, and of its retries) name the request that caused them.
"""

from __future__ import annotations

import logging
import os

from celery import Celery, Task, signals
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as KombuOperationalError

from .api.logging import REQUEST_ID_HEADER, request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jeghealth_backend.settings.base")


# How long a web request may try to hand a task to the broker before it gives up and falls back (about a second):
# a broker that is down must not hold the person's request for Celery's default of minutes.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
BROKER_UNREACHABLE = (KombuOperationalError, ConnectionError, OSError)


def enqueue_or_log(task: Task, *, event: str, extra: dict, **options) -> bool:
    """Publish TASK (`apply_async` OPTIONS) within ENQUEUE_RETRY_POLICY; when the broker cannot be reached, log
    EVENT with EXTRA and answer False: the caller's outbox row (and its sweeper) or fallback takes over."""
    try:
        task.apply_async(retry=True, retry_policy=ENQUEUE_RETRY_POLICY, **options)
    except BROKER_UNREACHABLE:
        logging.getLogger(task.__module__).warning(event, extra=extra, exc_info=True)
        return False
    return True


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


@signals.before_task_publish.connect(weak=False)
def _send_request_id(headers=None, **_kwargs) -> None:
    """Stamp the request id of the code that publishes (a request, or a task that carries one) on the message."""
    request_id = request_id_var.get()
    if request_id and headers is not None and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id


def _received_request_id(task) -> str:
    # A worker turns the message's custom headers into `request.headers`; `apply(headers=...)` passes them as is.
    headers = getattr(task.request, "headers", None) or {}
    return str(headers.get(REQUEST_ID_HEADER) or getattr(task.request, REQUEST_ID_HEADER, "") or "")


@signals.task_prerun.connect(weak=False)
def _adopt_request_id(task=None, **_kwargs) -> None:
    request_id = _received_request_id(task) if task is not None else ""
    # Without a header (beat's tasks, or an eager task run inside its request) the context stays as it is.
    if request_id:
        task.request.request_id_token = request_id_var.set(request_id)


@signals.task_postrun.connect(weak=False)
def _drop_request_id(task=None, **_kwargs) -> None:
    token = getattr(task.request, "request_id_token", None) if task is not None else None
    if token is not None:
        request_id_var.reset(token)
        task.request.request_id_token = None


@signals.setup_logging.connect
def _use_django_logging(**_kwargs) -> None:
    """Workers log through Django's LOGGING (JSON lines) instead of Celery's own format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
