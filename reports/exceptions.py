"""Domain errors of reports; the API's exception handler turns the ApplicationError ones into the error envelope.

The two storage errors never reach a client: the generation task retries on them.
"""

from __future__ import annotations

from jeghealth_backend.api.exceptions import ApplicationError


class TooManyReports(ApplicationError):
    status_code = 429
    default_code = "throttled"
    # Every 429 says when to come back (API.md); a report takes seconds, so half a minute is plenty.
    wait = 30

    def __init__(self, limit: int) -> None:
        super().__init__(f"You already have {limit} reports being generated; wait for one to finish.")


class StorageUnavailable(Exception):
    """Saving or deleting a file failed in a way that may pass (network, the object store, a full disk)."""


class ReportStorageUnavailable(Exception):
    """The file could not be stored; the claim was released so that a retry (or the sweeper) runs it again."""
