"""The domain errors of health metrics, each an `ApplicationError` that the one handler answers in the envelope."""

from __future__ import annotations

from typing import Any

from jeghealth_backend.api.exceptions import ApplicationError, first_message


class ReadingInvalid(ApplicationError):
    """A reading refused; `.fields` is `{"<field>": ["message", ...]}` (for bulk entry, keyed by item index)."""

    status_code = 400
    default_code = "validation_error"
    default_detail = "The request has invalid fields."

    def __init__(self, fields: dict[str, Any], message: str | None = None):
        super().__init__(message or first_message(fields), fields=fields)


class TargetInvalid(ReadingInvalid):
    """A target whose fields do not fit together (e.g. a range target without max_value)."""


class ReadingNotEditable(ApplicationError):
    status_code = 400
    default_code = "validation_error"
    default_detail = "This reading cannot be changed that way."


class OwnerGone(ApplicationError):
    """The person or device of an insert was deleted while it ran: nothing is stored for them."""

    status_code = 409
    default_code = "conflict"
    default_detail = "The account or device these readings belong to no longer exists."
