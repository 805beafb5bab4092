"""GET /metrics: the Prometheus text format, for METRICS_ALLOWED_IPS only; everyone else gets a 404, as if the
page did not exist (and so does everyone while METRICS_ENABLED is off)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from . import multiprocess
from .collectors import DatabaseCollector


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in allowed if entry.strip())


def client_allowed(address: str | None) -> bool:
    """ADDRESS (the connecting address, REMOTE_ADDR: a forwarded header could be forged) is one of
    METRICS_ALLOWED_IPS, addresses or networks."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED or not client_allowed(request.META.get("REMOTE_ADDR")):
        raise Http404
    if multiprocess.enabled():
        registry = multiprocess.collector_registry()
    else:
        from .instruments import REGISTRY

        registry = CollectorRegistry()
        registry.register(REGISTRY)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
