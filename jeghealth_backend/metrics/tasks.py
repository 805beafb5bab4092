"""Celery task latency, failures and retries by task name, from Celery's signals (in whichever process runs the
task: a pool child of the worker, or the web process for eager tasks)."""

from __future__ import annotations

import time

from celery import signals

_started: dict[str, float] = {}


def _prerun(task_id=None, **_kwargs) -> None:
    _started[task_id] = time.perf_counter()


def _postrun(task_id=None, task=None, **_kwargs) -> None:
    from .instruments import TASK_DURATION

    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        TASK_DURATION.labels(task.name).observe(time.perf_counter() - started)


def _failure(sender=None, **_kwargs) -> None:
    from .instruments import TASK_FAILURES

    TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


def _retry(sender=None, **_kwargs) -> None:
    from .instruments import TASK_RETRIES

    TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()


def connect() -> None:
    signals.task_prerun.connect(_prerun, weak=False, dispatch_uid="jeghealth-metrics-prerun")
    signals.task_postrun.connect(_postrun, weak=False, dispatch_uid="jeghealth-metrics-postrun")
    signals.task_failure.connect(_failure, weak=False, dispatch_uid="jeghealth-metrics-failure")
    signals.task_retry.connect(_retry, weak=False, dispatch_uid="jeghealth-metrics-retry")
