"""The one error envelope of API.md: `{"error": {"code", "message", "fields"?}}`.

Domain code raises `ApplicationError` subclasses; DRF raises its own exceptions. `exception_handler` wraps DRF's
handler (never replaces it) and reshapes every answer into the envelope. Anything unexpected is logged with its
traceback and answered as a 500 envelope without one.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger("jeghealth.errors")

MESSAGES = {
    "validation_error": "The request has invalid fields.",
    "authentication_failed": "The credentials are not valid.",
    "not_authenticated": "Authentication credentials were not provided.",
    "permission_denied": "You do not have permission to perform this action.",
    "not_found": "Not found.",
    "method_not_allowed": "This method is not allowed here.",
    "conflict": "The request conflicts with the current state of the resource.",
    "throttled": "Too many requests; try again later.",
    "payload_too_large": "The request body is too large.",
    "unsupported_media_type": "Send JSON (Content-Type: application/json).",
    "not_acceptable": "This resource answers JSON only.",
    "parse_error": "The request body is not valid JSON.",
    "server_error": "Something went wrong on our side; it has been logged.",
    "service_unavailable": "A service we depend on is unavailable; try again shortly.",
}


class ApplicationError(exceptions.APIException):
    """Base of the domain errors that services raise; the handler turns them into the envelope."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request cannot be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None):
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.code = code or self.default_code
        self.message = message or str(self.default_detail)
        self.fields = fields


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = MESSAGES["conflict"]


class PayloadTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = MESSAGES["payload_too_large"]


SERVICE_UNAVAILABLE_RETRY_AFTER = 5


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = MESSAGES["service_unavailable"]


def envelope(code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _field_errors(detail: Any) -> dict:
    """DRF's nested ValidationError detail as plain JSON; a bare list goes under `non_field_errors`."""
    if isinstance(detail, dict):
        return {str(k): _field_messages(v) for k, v in detail.items()}
    return {"non_field_errors": _field_messages(detail)}


def _field_messages(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _field_messages(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            # A list of nested objects: key the errors by index, skipping the items that passed.
            return {str(i): _field_messages(v) for i, v in enumerate(value) if v}
        return [str(v) for v in value]
    return [str(value)]


def first_message(fields: dict) -> str:
    """The envelope's one human sentence for validation errors FIELDS: the first message, named by its field."""
    for key, value in fields.items():
        while isinstance(value, dict) and value:
            key, value = next(iter(value.items()))
        if isinstance(value, list) and value:
            return str(value[0]) if key == "non_field_errors" else f"{key}: {value[0]}"
    return MESSAGES["validation_error"]


def exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, (DataError, OverflowError)):
        # Out-of-range numbers and similar inputs that slipped past a serializer: the client's fault, not ours.
        # PostgreSQL says DataError; SQLite's driver raises OverflowError for an integer beyond 64 bits.
        set_rollback()
        logger.warning("data_error", extra={"view": _view_name(context)})
        exc = exceptions.ValidationError(detail=["A value is out of the range this service stores."])
    elif isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        # Redis (cache, throttles, broker) is down: the client should come back shortly, not report a bug.
        logger.warning("cache_unavailable", extra={"view": _view_name(context)})
        exc = ServiceUnavailable()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        set_rollback()
        logger.exception("unhandled_exception", extra={"view": _view_name(context)}, exc_info=exc)
        return Response(envelope("server_error", MESSAGES["server_error"]), status=500)

    if isinstance(exc, ApplicationError):
        response.data = envelope(exc.code, exc.message, exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        response.data = envelope("validation_error", first_message(fields), fields)
    else:
        code = _code_for(exc)
        detail = getattr(exc, "detail", None)
        message = str(detail) if isinstance(detail, str) else MESSAGES.get(code, str(detail))
        if isinstance(detail, dict) and "detail" in detail:
            message = str(detail["detail"])
        response.data = envelope(code, message)
    # Throttles and the login lockout both say when to come back (API.md: every 429 has Retry-After).
    wait = getattr(exc, "wait", None)
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and wait is not None:
        response["Retry-After"] = str(max(1, math.ceil(wait)))
    elif isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = str(SERVICE_UNAVAILABLE_RETRY_AFTER)
    return response


def _code_for(exc: exceptions.APIException) -> str:
    by_type = (
        (exceptions.NotAuthenticated, "not_authenticated"),
        (exceptions.AuthenticationFailed, "authentication_failed"),
        (exceptions.PermissionDenied, "permission_denied"),
        (exceptions.NotFound, "not_found"),
        (exceptions.MethodNotAllowed, "method_not_allowed"),
        (exceptions.Throttled, "throttled"),
        (exceptions.ParseError, "parse_error"),
        (exceptions.UnsupportedMediaType, "unsupported_media_type"),
        (exceptions.NotAcceptable, "not_acceptable"),
    )
    for klass, code in by_type:
        if isinstance(exc, klass):
            return code
    # simplejwt's InvalidToken is an AuthenticationFailed subclass; anything else keeps its own code.
    return getattr(exc, "default_code", "error")


def _view_name(context: dict) -> str:
    view = context.get("view")
    return type(view).__name__ if view is not None else ""
