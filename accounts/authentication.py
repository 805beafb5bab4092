"""The API's authentication: simplejwt's JWTAuthentication, bound to the token's session and scope.

Every token carries `sid` (its session, accounts/sessions.py) and `scope`. The session is checked in the same query
that loads the user (an EXISTS on the session's primary key), so ending a session costs no extra query per request:
an authenticated request still makes exactly one query to authenticate. A token of an ended session, or one
without a session, answers 401. That query is written as SQL once (bench/auth_bench.py): built through the ORM's
`annotate(Exists(...))` it cost about 0.6 ms of Python per request, more than the database's part of it. It runs
on the primary database, so a session ended a moment ago is ended for a replica's reader too.

A token of scope `mfa_enrolment` (an account that must have MFA and has none, API.md) opens only the views that set
`accepts_enrolment_tokens = True` (enrolling, logging out); every other endpoint answers 403 with the code
`mfa_enrolment_required`: the token is valid, it is just not enough there.
"""

from __future__ import annotations

import functools
import uuid

from django.db import connections, router
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from .choices import SessionScope
from .models import AuthSession, User
from .sessions import SCOPE_CLAIM, SESSION_CLAIM


class MfaEnrolmentRequired(APIException):
    """403 `mfa_enrolment_required`. A plain APIException: this module is imported while DRF itself loads (the
    authentication setting), before the project's ApplicationError can be; the envelope takes its default_code."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "mfa_enrolment_required"
    default_detail = "Turn on two-factor authentication first (auth/mfa/totp/); this token opens nothing else."


@functools.cache
def _user_and_session_sql(alias: str) -> str:
    # Only table and column names of the models, quoted by the backend, go into the text; values are parameters.
    quote = connections[alias].ops.quote_name
    user, session = quote(User._meta.db_table), quote(AuthSession._meta.db_table)
    live = (
        f"SELECT 1 FROM {session} WHERE {session}.{quote('id')} = %s AND {session}.{quote('user_id')} = "  # noqa: S608
        f"{user}.{quote('id')} AND {session}.{quote('ended_at')} IS NULL"
    )
    return f"SELECT {user}.*, EXISTS ({live}) AS session_live FROM {user} WHERE {user}.{quote('id')} = %s"  # noqa: S608


def _user_and_session(user_id: uuid.UUID, session_id: uuid.UUID) -> User | None:
    """The user USER_ID with `session_live`: whether their session SESSION_ID exists and has not ended."""
    alias = router.db_for_write(User)
    connection = connections[alias]
    params = [
        AuthSession._meta.pk.get_db_prep_value(session_id, connection),
        User._meta.pk.get_db_prep_value(user_id, connection),
    ]
    rows = list(User.objects.db_manager(alias).raw(_user_and_session_sql(alias), params))
    return rows[0] if rows else None


def _as_uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidToken("This token belongs to no session; sign in again.") from None


class SessionJWTAuthentication(JWTAuthentication):
    """JWTAuthentication that refuses tokens of ended sessions, and enrolment tokens outside the MFA endpoints."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        _, token = result
        if token.get(SCOPE_CLAIM) != SessionScope.FULL:
            view = (getattr(request, "parser_context", None) or {}).get("view")
            if not getattr(view, "accepts_enrolment_tokens", False):
                raise MfaEnrolmentRequired()
        return result

    def get_user(self, validated_token) -> User:
        if SESSION_CLAIM not in validated_token:
            raise InvalidToken("This token belongs to no session; sign in again.")
        session_id = _as_uuid(validated_token[SESSION_CLAIM])
        user_id = _as_uuid(validated_token.get(api_settings.USER_ID_CLAIM))
        user = _user_and_session(user_id, session_id)
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.session_live:
            raise AuthenticationFailed("This session has been signed out; sign in again.", code="session_ended")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        return user
