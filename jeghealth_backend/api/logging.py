"""The request id travels with every log line of a request through a context variable, and with the Celery tasks
the request enqueues through the message header REQUEST_ID_HEADER (see jeghealth_backend/celery.py)."""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
REQUEST_ID_HEADER = "request_id"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


class TaskArgumentsFilter(logging.Filter):
    """Drops the arguments from Celery's task lines (`celery.app.trace`), keeping the task's name and id.

    A worker logs them from the message's argsrepr/kwargsrepr, which services keep free of secrets; an eager task
    (development without Redis, the tests) has no message, so Celery logs the real arguments, mail bodies with
    single-use tokens among them. Tasks take ids, so nothing worth reading is lost.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Celery passes one dict as both the format arguments and `data`; clean it in place for both.
        for context in (getattr(record, "data", None), record.args):
            if isinstance(context, dict):
                for key in ("args", "kwargs"):
                    if key in context:
                        context[key] = "<omitted>"
        return True
