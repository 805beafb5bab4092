"""Domain errors of alerts; the API's exception handler turns them into the error envelope."""

from __future__ import annotations

from rest_framework import status

from jeghealth_backend.api.exceptions import ApplicationError


class ThresholdInvalid(ApplicationError):
    """A rule only the database can check (one threshold per metric and severity), reported on its field."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "validation_error"
    default_detail = "The request has invalid fields."

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", fields={field: [message]})
