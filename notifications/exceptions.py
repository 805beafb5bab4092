"""Domain errors of notifications; the API's exception handler turns them into the error envelope."""

from __future__ import annotations

from rest_framework import status

from jeghealth_backend.api.exceptions import ApplicationError, Conflict


class NotFound(ApplicationError):
    """Missing, or another person's: the two are indistinguishable on purpose."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class InvalidInput(ApplicationError):
    """A rule only the database or the service can check (uniqueness, a per-person cap), reported per field."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "validation_error"
    default_detail = "The request has invalid fields."

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", fields={field: [message]})


class PushTokenTaken(Conflict):
    """The push token is registered to another account, and this registration does not prove the same install."""

    default_detail = "This push token is registered to another account."
