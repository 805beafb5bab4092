"""Error reporting to Sentry, on only when SENTRY_DSN is set (the settings call `sentry_init` last).

This service holds health data, so an error report carries where it happened and nothing a person sent: personal
data is off (`send_default_pii=False`), stack frames carry no local variables, request bodies are never read, and
`scrub` (the `before_send` and `before_send_transaction` hook) keeps of the request only its method and URL path,
of the user only the id, and drops breadcrumb data (SQL parameters, log extras) and task arguments. The Django and
Celery integrations report unhandled errors of views and tasks; web, worker and beat all load the settings.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

REDACTED = "[Filtered]"
_REQUEST_KEPT = ("method", "url")


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """EVENT without anything personal (see the module doc)."""
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {key: request[key] for key in _REQUEST_KEPT if key in request}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    breadcrumbs = event.get("breadcrumbs")
    crumbs = breadcrumbs.get("values", []) if isinstance(breadcrumbs, dict) else breadcrumbs or []
    for crumb in crumbs:
        if isinstance(crumb, dict):
            crumb.pop("data", None)
    job = (event.get("extra") or {}).get("celery-job")
    if isinstance(job, dict):
        job.update({key: REDACTED for key in ("args", "kwargs") if key in job})
    for exception in (event.get("exception") or {}).get("values", []):
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    return event


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0, **options: Any) -> bool:
    """Start reporting to DSN; False (and nothing started) when DSN is empty. OPTIONS go to `sentry_sdk.init`
    (tests pass a transport)."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,
        before_send_transaction=scrub,
        **options,
    )
    return True
