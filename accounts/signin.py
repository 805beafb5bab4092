"""Signing in, in one or two steps: the password, then (with MFA on) a TOTP code or a recovery code.

`login/` checks the password. With MFA on it answers a challenge instead of tokens: a random token, of which only
the SHA-256 is stored, valid MFA_CHALLENGE_TTL_SECONDS (5 minutes) and once. `login/mfa/` trades the challenge and
a code for a full session; MFA_CHALLENGE_MAX_FAILURES (5) wrong codes end the challenge, and every wrong code also
counts toward the account's lockout (django-axes), exactly as a wrong password does. An account that must have MFA
(MFA_REQUIRED_ROLES) and has none gets an enrolment session, whose tokens open only the MFA endpoints.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from . import mfa, services, sessions
from .choices import SessionScope
from .models import MfaChallenge, User
from .selectors import mfa_enabled, mfa_required_for

CHALLENGE_GONE = "This sign-in has expired or ended; sign in again with your password."
CHALLENGE_ENDED = "Too many wrong codes: this sign-in has ended. Sign in again with your password."


@dataclass(frozen=True)
class SignIn:
    """What `login/` answers: tokens (full or enrolment-only), or a challenge for the second factor."""

    user: User
    tokens: dict[str, str] | None = None
    challenge: str | None = None
    enrolment_required: bool = False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(*, request, email: str, password: str) -> SignIn:
    """The first step: the password (services.user_credentials_check: 401, or 429 while locked), then by account.

    MFA on: a challenge, no tokens, and no sign-in recorded yet. MFA required and off: an enrolment session. Else a
    full session.
    """
    user = services.user_credentials_check(request=request, email=email, password=password)
    if mfa_enabled(user):
        raw = secrets.token_urlsafe(32)
        now = timezone.now()
        MfaChallenge.objects.create(
            user=user,
            token_hash=_digest(raw),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.MFA_CHALLENGE_TTL_SECONDS),
        )
        return SignIn(user=user, challenge=raw)
    services.user_signed_in(request=request, user=user)
    if mfa_required_for(user):
        tokens = sessions.session_start(user=user, request=request, scope=SessionScope.MFA_ENROLMENT)
        return SignIn(user=user, tokens=tokens, enrolment_required=True)
    return SignIn(user=user, tokens=sessions.session_start(user=user, request=request))


def sign_in_second_factor(*, request, challenge: str, code: str) -> SignIn:
    """The second step: CHALLENGE from `login/` and CODE (TOTP or unused recovery code) → a full session.

    ValidationError (400): on `challenge` when it is unknown, expired, used or ended; on `code` for a wrong code or
    a used recovery code, which also counts toward the challenge's end and the account's lockout. AccountLocked
    (429) while the account is locked, whatever the code.
    """
    now = timezone.now()
    record = MfaChallenge.objects.select_related("user").filter(token_hash=_digest(challenge)).first()
    if record is None or record.ended_at is not None or record.expires_at <= now or not record.user.is_active:
        raise ValidationError({"challenge": [CHALLENGE_GONE]})
    user = record.user
    mfa.lockout_check(user=user, request=request)
    with transaction.atomic():
        # The lock makes the challenge single-use and its failure count exact under concurrent tries.
        record = MfaChallenge.objects.select_for_update().get(pk=record.pk)
        if record.ended_at is not None:
            factor = None
        else:
            factor = mfa.second_factor_check(user=user, code=code, now=now)
            if factor in (mfa.Factor.TOTP, mfa.Factor.RECOVERY_CODE):
                record.ended_at = now
            else:
                record.failed_attempts += 1
                if record.failed_attempts >= settings.MFA_CHALLENGE_MAX_FAILURES:
                    record.ended_at = now
            record.save(update_fields=["ended_at", "failed_attempts"])
    if factor is None:
        raise ValidationError({"challenge": [CHALLENGE_GONE]})
    if factor not in (mfa.Factor.TOTP, mfa.Factor.RECOVERY_CODE):
        mfa.second_factor_failed(user=user, request=request, factor=factor, stage="login")
        if record.ended_at is not None:
            raise ValidationError({"code": [CHALLENGE_ENDED]})
        raise ValidationError(
            {"code": [mfa.USED_RECOVERY_CODE if factor == mfa.Factor.USED_RECOVERY_CODE else mfa.WRONG_CODE]}
        )
    mfa.second_factor_succeeded(user=user, request=request, factor=factor)
    services.user_signed_in(request=request, user=user, metadata={"mfa": str(factor)})
    return SignIn(user=user, tokens=sessions.session_start(user=user, request=request))


def enrolment_upgrade(*, request, user: User) -> dict[str, str]:
    """After MFA is confirmed from an enrolment session: that session ends and a full one starts (the password
    was proven at `login/`, the authenticator just now)."""
    token = getattr(request, "auth", None)
    session_id = token.get(sessions.SESSION_CLAIM) if token is not None else None
    if session_id is not None:
        sessions.session_end(user=user, session_id=session_id, request=request)
    return sessions.session_start(user=user, request=request)


def mfa_challenges_purge(*, older_than: timedelta) -> int:
    """Delete sign-in challenges that expired more than OLDER_THAN ago (housekeeping)."""
    deleted, _ = MfaChallenge.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
