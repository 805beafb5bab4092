"""Signed-in sessions and the JWTs issued in them, on simplejwt's tokens and blacklist.

A session (AuthSession) is a refresh-token family: it starts at a sign-in and continues through every rotation of
`token/refresh/`. Each access and refresh token carries its session's id (`sid`) and scope (`scope`); the
authenticator refuses a token whose session has ended, so `DELETE sessions/{id}/`, logout, and a password change or
reset stop every token of the family on its next request, access tokens included.

The OutstandingToken rows these functions write keep the jti, never the token text: the blacklist needs only the
jti, and a database dump (or an admin page) then holds no usable refresh token.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import BlacklistMixin, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, get_md5_hash_password

from .audit import request_origin, security_event_record
from .choices import SecurityEventType, SessionScope
from .models import AuthSession, User
from .selectors import mfa_enabled, mfa_required_for

logger = logging.getLogger(__name__)

SESSION_CLAIM = "sid"
SCOPE_CLAIM = "scope"


class InvalidRefreshToken(AuthenticationFailed):
    default_code = "token_not_valid"
    default_detail = "This refresh token is no longer valid; sign in again."


class SessionRefreshToken(RefreshToken):
    """simplejwt's refresh token, issued for a session: `sid` and `scope` claims, copied into its access tokens."""

    @classmethod
    def for_session(cls, session: AuthSession) -> SessionRefreshToken:
        # Token.for_user (user id and password-hash claims) without BlacklistMixin.for_user, which would store the
        # token's text in its OutstandingToken row; the row is written below with the jti alone.
        token = super(BlacklistMixin, cls).for_user(session.user)
        token[SESSION_CLAIM] = str(session.pk)
        token[SCOPE_CLAIM] = session.scope
        OutstandingToken.objects.create(
            user=session.user,
            jti=token["jti"],
            token="",
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token


def _issue(session: AuthSession) -> dict[str, str]:
    """A new token pair in SESSION, which must be locked or new; its current refresh token becomes this one."""
    refresh = SessionRefreshToken.for_session(session)
    session.refresh_jti = refresh["jti"]
    session.expires_at = datetime_from_epoch(refresh["exp"])
    session.save()
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _origin(session: AuthSession, request) -> None:
    origin = request_origin(request)
    if origin["ip_address"] or origin["user_agent"]:
        session.ip_address, session.user_agent = origin["ip_address"], origin["user_agent"]


@transaction.atomic
def session_start(*, user: User, request=None, scope: str = SessionScope.FULL) -> dict[str, str]:
    """Sign USER in: a new session of SCOPE and its first token pair, recording the client's address and agent."""
    now = timezone.now()
    session = AuthSession(
        user=user,
        scope=scope,
        created_at=now,
        last_used_at=now,
        expires_at=now + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"],
    )
    _origin(session, request)
    return _issue(session)


def tokens_for_user(user: User, *, request=None) -> dict[str, str]:
    """A new full session for USER, who has passed every factor asked of them (registration, password change)."""
    return session_start(user=user, request=request, scope=SessionScope.FULL)


def _as_uuid(raw) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def token_refresh(*, raw_refresh: str, request=None) -> dict[str, str]:
    """Rotate a refresh token within its session: the presented one is blacklisted and a new pair is issued.

    Exactly one of two concurrent refreshes of the same token wins: the session row is locked and the blacklist
    row is unique per token, so the loser answers 401 (never 500). Refused when the session has ended, the user is
    gone or inactive, or the password changed after the token was issued. A full session of a person who must
    have MFA (MFA_REQUIRED_ROLES) and has none continues as an enrolment session. A refresh token from before
    sessions existed (no `sid`) starts a session of its own.
    """
    try:
        refresh = SessionRefreshToken(raw_refresh)  # signature, expiry, type, and the blacklist
    except TokenError:
        raise InvalidRefreshToken() from None
    user = User.objects.filter(pk=_as_uuid(refresh.payload.get("user_id"))).first()
    if user is None or not user.is_active:
        raise InvalidRefreshToken()
    if refresh.payload.get(settings.SIMPLE_JWT["REVOKE_TOKEN_CLAIM"]) != get_md5_hash_password(user.password):
        raise InvalidRefreshToken()
    now = timezone.now()
    with transaction.atomic():
        if SESSION_CLAIM in refresh.payload:
            session = (
                AuthSession.objects.select_for_update()
                .filter(pk=_as_uuid(refresh[SESSION_CLAIM]), user=user, ended_at__isnull=True)
                .first()
            )
            if session is None:
                raise InvalidRefreshToken()
        else:
            session = AuthSession(user=user, created_at=now, expires_at=now)
        try:
            with transaction.atomic():
                outstanding, _ = OutstandingToken.objects.get_or_create(
                    jti=refresh.payload["jti"],
                    defaults={
                        "user": user,
                        "token": "",
                        "created_at": refresh.current_time,
                        "expires_at": datetime_from_epoch(refresh.payload["exp"]),
                    },
                )
                BlacklistedToken.objects.create(token=outstanding)
        except IntegrityError:
            raise InvalidRefreshToken() from None
        if session.scope == SessionScope.FULL and mfa_required_for(user) and not mfa_enabled(user):
            session.scope = SessionScope.MFA_ENROLMENT
        session.last_used_at = now
        _origin(session, request)
        return _issue(session)


def _end(sessions: list[AuthSession], now) -> None:
    """End SESSIONS (locked): their rows say so, and their current refresh tokens are blacklisted."""
    if not sessions:
        return
    AuthSession.objects.filter(pk__in=[s.pk for s in sessions]).update(ended_at=now)
    outstanding = OutstandingToken.objects.filter(jti__in=[s.refresh_jti for s in sessions if s.refresh_jti])
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding.filter(blacklistedtoken__isnull=True)],
        ignore_conflicts=True,
    )


@transaction.atomic
def session_end(*, user: User, session_id, request=None) -> None:
    """Sign USER's session SESSION_ID out at once: its refresh and access tokens answer 401 from the next request.

    NotFound (404) for a session that is not USER's, has ended or has expired.
    """
    session = (
        AuthSession.objects.select_for_update()
        .filter(pk=session_id, user=user, ended_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if session is None:
        raise NotFound()
    _end([session], timezone.now())
    security_event_record(
        event_type=SecurityEventType.SESSION_ENDED, user=user, request=request, metadata={"session_id": str(session.pk)}
    )


def sessions_end_all(*, user: User) -> int:
    """End every live session of USER (password change or reset); call inside the writing transaction."""
    sessions = list(AuthSession.objects.select_for_update().filter(user=user, ended_at__isnull=True))
    _end(sessions, timezone.now())
    return len(sessions)


def tokens_revoke_all(*, user: User) -> int:
    """Blacklist every outstanding refresh token of the user, sessions or not (password change or reset)."""
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    rows = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def token_blacklist(*, user: User, raw_refresh: str) -> None:
    """Logout: the given refresh token (which must be the caller's own) never works again, nor does its session."""
    try:
        refresh = SessionRefreshToken(raw_refresh)
    except TokenError:
        raise ValidationError({"refresh": ["This refresh token is not valid or already revoked."]}) from None
    if str(refresh.payload.get("user_id")) != str(user.pk):
        raise ValidationError({"refresh": ["This refresh token does not belong to you."]})
    # get_or_create: a concurrent logout of the same token ends the same way.
    refresh.blacklist()
    session_id = _as_uuid(refresh.payload.get(SESSION_CLAIM))
    if session_id is not None:
        sessions = list(AuthSession.objects.select_for_update().filter(pk=session_id, user=user, ended_at__isnull=True))
        _end(sessions, timezone.now())


def sessions_purge(*, older_than: timedelta) -> int:
    """Delete sessions that ended or expired more than OLDER_THAN ago (housekeeping; nothing refers to them)."""
    cutoff = timezone.now() - older_than
    deleted, _ = AuthSession.objects.filter(expires_at__lt=cutoff).delete()
    ended, _ = AuthSession.objects.filter(ended_at__lt=cutoff).delete()
    return deleted + ended
