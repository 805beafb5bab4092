"""Writes of accounts, one module per topic; every name stays importable from `accounts.services`.

Every function owns its transaction; e-mail leaves through a Celery task after commit, so a rolled-back
registration never mails anybody. Token and session writes live in accounts/sessions.py, grants in
accounts/care_team.py; the names callers took from here before stay importable.
"""

from ..exceptions import AccountLocked
from ..sessions import (
    InvalidRefreshToken,
    sessions_end_all,
    token_blacklist,
    token_refresh,
    tokens_for_user,
    tokens_revoke_all,
)
from .credentials import INVALID_CREDENTIALS, user_credentials_check, user_signed_in
from .organizations import (
    member_add,
    member_remove,
    member_update,
    organization_create,
    organization_delete,
    organization_update,
)
from .passwords import password_change, password_reset_confirm, password_reset_request
from .personal import PROFILE_EDITABLE, USER_EDITABLE, profile_update, user_delete, user_provision, user_update
from .registration import user_register
from .roles import role_grant, role_revoke
from .verification import email_verification_send, email_verify

__all__ = [
    "INVALID_CREDENTIALS",
    "PROFILE_EDITABLE",
    "USER_EDITABLE",
    "AccountLocked",
    "InvalidRefreshToken",
    "email_verification_send",
    "email_verify",
    "member_add",
    "member_remove",
    "member_update",
    "organization_create",
    "organization_delete",
    "organization_update",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "profile_update",
    "role_grant",
    "role_revoke",
    "sessions_end_all",
    "token_blacklist",
    "token_refresh",
    "tokens_for_user",
    "tokens_revoke_all",
    "user_credentials_check",
    "user_delete",
    "user_provision",
    "user_register",
    "user_signed_in",
    "user_update",
]
