"""Request latency by URL pattern (the route, never the path: ids would make a series per object)."""

from __future__ import annotations

import re
import time

from django.conf import settings

# DRF's routers make regex patterns: `(?P<pk>[^/.]+)` reads `<pk>`, and the anchors go.
_GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)")
UNMATCHED = "<unmatched>"


def route_label(route: str | None) -> str:
    if not route:
        return UNMATCHED
    return _GROUP.sub(r"<\1>", route).replace("^", "").replace("$", "").replace("\\.", ".")


class MetricsMiddleware:
    """Outermost: times the whole answer, including the other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.METRICS_ENABLED:
            return self.get_response(request)
        from .instruments import HTTP_REQUEST_DURATION

        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        HTTP_REQUEST_DURATION.labels(
            request.method, route_label(match.route if match else None), str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response
