"""The domain errors of medications; the API's handler turns them into the error envelope."""

from typing import TypeVar

from jeghealth_backend.api.exceptions import ApplicationError

E = TypeVar("E", bound=ApplicationError)


class ScheduleInvalid(ApplicationError):
    default_code = "validation_error"
    default_detail = "The schedule is not consistent with the frequency."


class RegimenInvalid(ApplicationError):
    default_code = "validation_error"
    default_detail = "The regimen is not valid."


class DoseInvalid(ApplicationError):
    default_code = "validation_error"
    default_detail = "This dose cannot be logged."


class UnknownMedication(ApplicationError):
    default_code = "validation_error"
    default_detail = "A medication id is not in the catalog."


def field_error(exc_class: type[E], field: str, message: str) -> E:
    """EXC_CLASS for one field, with the field named in the message and under `fields`."""
    return exc_class(f"{field}: {message}", fields={field: [message]})
