"""Domain errors of accounts; the API's exception handler turns them into the error envelope.

Two errors of the authentication layer stay beside their code, as plain DRF exceptions: `InvalidRefreshToken`
(accounts/sessions.py) and `MfaEnrolmentRequired` (accounts/authentication.py). Both modules are imported while
DRF itself loads its authentication setting, before `jeghealth_backend.api.exceptions` (which imports DRF's
views) can be, so they cannot import this module.
"""

from __future__ import annotations

from django.conf import settings

from jeghealth_backend.api.exceptions import ApplicationError, Conflict


class AccountLocked(ApplicationError):
    status_code = 429
    default_code = "account_locked"
    default_detail = "Too many failed sign-in attempts; this account is locked for a while. Try again later."

    def __init__(self) -> None:
        super().__init__()
        # Retry-After: the whole cool-off, an upper bound of what is left of it.
        self.wait = settings.AXES_COOLOFF_TIME.total_seconds()


class MfaAlreadyOn(Conflict):
    default_detail = "Two-factor authentication is already on; turn it off first to enrol another authenticator."


class NotAClinicAdmin(ApplicationError):
    status_code = 403
    default_code = "permission_denied"
    default_detail = "Only a clinic admin of this organization can do this."


class LastClinicAdmin(Conflict):
    default_detail = "An organization keeps at least one clinic admin: name another one first."
