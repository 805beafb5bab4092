"""Domain errors of appointments; the project's handler turns each into the envelope of API.md."""

from __future__ import annotations

from rest_framework import status

from jeghealth_backend.api.exceptions import ApplicationError, Conflict


class BookingInvalid(ApplicationError):
    """400: the request is well-formed but the provider's calendar does not allow it (past, off hours, …)."""

    default_code = "validation_error"
    default_detail = "This appointment cannot be booked."

    def __init__(self, field: str, message: str):
        super().__init__(message, fields={field: [message]})


class SlotTaken(Conflict):
    """409: the provider, or the patient, already has an active appointment overlapping that time."""

    default_detail = "This time is already taken."


class IllegalTransition(Conflict):
    """409: the appointment's current status (or the clock) does not allow this change."""

    default_detail = "The appointment cannot make this change in its current state."


class NotAllowed(ApplicationError):
    """403: the person can see the appointment but is not the party allowed to do this."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"
    default_detail = "You do not have permission to perform this action."
