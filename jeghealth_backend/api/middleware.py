"""Request-level guards and the error envelope for answers that never reached a DRF view.

Order matters (see MIDDLEWARE): the log middleware is outermost so it times and tags everything, the body size
guard answers before anything reads a body, and both the guard and the envelope middleware sit inside the security
and CORS middleware so that the answers they make or rewrite still get those headers.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import common

from .exceptions import MESSAGES, envelope
from .logging import request_id_var

logger = logging.getLogger("jeghealth.request")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_CODES_BY_STATUS = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "throttled",
    503: "service_unavailable",
}
_API_PREFIX = "/api/"
_DOC_PATHS = ("/api/schema/", "/api/docs/", "/api/redoc/")


def _is_api(path: str) -> bool:
    return path.startswith(_API_PREFIX)


class RequestLogMiddleware:
    """One JSON log line per request, `X-Request-ID` on every answer, `no-store` on API answers.

    Every API answer may carry personal data, so none of them is cacheable; the documentation is.
    Never logs bodies, query strings, tokens or health values: only the path, the status and who asked.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request_id
        if _is_api(request.path) and not request.path.startswith(_DOC_PATHS):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        user = getattr(request, "user", None)
        device = getattr(request, "auth_device_id", None)
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": str(user.pk) if user is not None and user.is_authenticated else None,
                "device_id": device,
            },
        )
        return response


class BodySizeLimitMiddleware:
    """413 for any body over the cap before a byte of it is read; 400 for NUL bytes in the URL.

    DRF's JSON parser reads the stream itself and never applies DATA_UPLOAD_MAX_MEMORY_SIZE, so the cap is
    enforced here from Content-Length. PostgreSQL refuses NUL in text, so a NUL that reached a query would be a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(envelope("validation_error", "Content-Length is not a number."), status=400)
        limit = settings.MAX_REQUEST_BODY_BYTES
        if request.method == "POST" and request.path == settings.IMPORT_PATH:
            limit = settings.IMPORT_MAX_BYTES  # a history export is large; the import view streams it to storage
        if length > limit:
            return JsonResponse(envelope("payload_too_large", MESSAGES["payload_too_large"]), status=413)
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.GET.urlencode():
            return JsonResponse(envelope("validation_error", "The URL contains a NUL character."), status=400)
        return self.get_response(request)


class CommonMiddleware(common.CommonMiddleware):
    """Django's, except that a write under /api/ without its trailing slash is a 404, never a redirect.

    A 301 to the slash URL loses the body (clients follow it with a GET and meet a 405), and with DEBUG on Django
    raises instead, which would answer a client's typo with a 500.
    """

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if _is_api(request.path_info) and request.method not in ("GET", "HEAD", "OPTIONS"):
            return False
        return super().should_redirect_with_slash(request)


class ApiErrorEnvelopeMiddleware:
    """Rewrites error answers under /api/ that did not come from a DRF view into the envelope.

    These are Django's own: the resolver's 404 (with DEBUG on, a technical HTML page), a 500 page, a CSRF
    failure, a 400 for a bad Host. DRF answers are already enveloped and pass through untouched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_api(request.path) or response.status_code < 400 or _is_envelope(response):
            return response
        status = response.status_code
        code = _CODES_BY_STATUS.get(status, "server_error" if status >= 500 else "error")
        message = MESSAGES.get(code, "The request failed.")
        rewritten = JsonResponse(envelope(code, message), status=status)
        # Everything but the body's own headers carries over: the clickjacking middleware runs inside this one,
        # so its X-Frame-Options would otherwise be lost on every rewritten error.
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length"):
                rewritten[header] = value
        return rewritten


def _is_envelope(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    if getattr(response, "streaming", False):
        return True
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), dict)
