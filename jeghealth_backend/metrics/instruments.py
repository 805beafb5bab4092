"""The metrics this service updates itself (the database's figures are `collectors`). Imported only after
`multiprocess.enable`, so that in multiprocess mode every value lives in METRICS_DIR."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Our own registry: without multiprocess mode (tests, METRICS_ENABLED off) /metrics reads these from here.
REGISTRY = CollectorRegistry()

HTTP_REQUEST_DURATION = Histogram(
    "jeghealth_http_request_duration_seconds",
    "Time to answer a request, by method, URL pattern and status code.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
TASK_DURATION = Histogram(
    "jeghealth_celery_task_duration_seconds",
    "Time a Celery task ran, by task name (successes, failures and retries alike).",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
TASK_FAILURES = Counter(
    "jeghealth_celery_task_failures",
    "Celery tasks that failed for good (after their retries), by task name.",
    ["task"],
    registry=REGISTRY,
)
TASK_RETRIES = Counter(
    "jeghealth_celery_task_retries",
    "Celery task runs that ended in a retry, by task name.",
    ["task"],
    registry=REGISTRY,
)
