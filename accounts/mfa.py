"""Two-factor authentication: TOTP enrolment and removal, recovery codes, and checking a second factor.

TOTP codes are pyotp's (RFC 6238, 30-second steps, 6 digits); a code of the step before or after the current one
is accepted for clock drift, and only for a step later than the last one accepted, so a code never works twice.
The acceptance is one conditional UPDATE, so two requests racing with one code cannot both pass.

Recovery codes are 80 random bits shown once as `XXXX-XXXX-XXXX-XXXX`; only their SHA-256 is stored (a slow hash
adds nothing to 80 bits of entropy) and each works once, claimed by a conditional UPDATE as well.

Wrong codes count like wrong passwords: each one is a `user_login_failed` for django-axes, so five failures of
either kind lock the account for AXES_COOLOFF_MINUTES, and each is a security event.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import logging
import secrets
from datetime import datetime

import pyotp
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from .audit import security_event_record
from .choices import SecurityEventType
from .exceptions import AccountLocked, MfaAlreadyOn
from .models import RecoveryCode, TotpDevice, User

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters
TOTP_DIGITS = 6
WRONG_CODE = "This code is not valid. Use the current code of your authenticator app, or an unused recovery code."
USED_RECOVERY_CODE = "This recovery code has already been used."


class Factor(enum.StrEnum):
    """How a second factor was proven, or why it was not."""

    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    WRONG = "wrong"
    USED_RECOVERY_CODE = "used_recovery_code"


# --- checking codes ------------------------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (of now, the one before or the one after) whose TOTP code is CODE, if any."""
    totp = _totp(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def _totp_accept(device: TotpDevice, code: str, now: datetime) -> bool:
    """CODE is DEVICE's for a step later than the last one used; that step is then the last one used."""
    step = _matching_step(device.secret, code, now)
    if step is None:
        return False
    claimed = (
        TotpDevice.objects.filter(pk=device.pk)
        .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
        .update(last_used_step=step)
    )
    return claimed == 1


def _recovery_digest(code: str) -> str:
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def _is_totp_shaped(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isdigit()


def second_factor_check(*, user: User, code: str, now: datetime | None = None) -> Factor:
    """Check CODE, a TOTP code of USER's confirmed authenticator or one of their unused recovery codes.

    A matching TOTP code is spent (replay), a matching recovery code is used up. Answers how it went.
    """
    now = now or timezone.now()
    code = "".join(code.split())
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return Factor.WRONG
    if _is_totp_shaped(code):
        return Factor.TOTP if _totp_accept(device, code, now) else Factor.WRONG
    digest = _recovery_digest(code)
    if RecoveryCode.objects.filter(user=user, code_hash=digest, used_at__isnull=True).update(used_at=now):
        return Factor.RECOVERY_CODE
    if RecoveryCode.objects.filter(user=user, code_hash=digest).exists():
        return Factor.USED_RECOVERY_CODE
    return Factor.WRONG


def second_factor_failed(*, user: User, request, factor: Factor, stage: str) -> None:
    """Record a wrong code: a security event, and a failed sign-in for django-axes' per-account lockout."""
    security_event_record(
        event_type=SecurityEventType.MFA_FAILED,
        user=user,
        identifier=user.email,
        request=request,
        metadata={"stage": stage, "reason": str(factor)},
    )
    user_login_failed.send(sender=__name__, credentials={"email": user.email}, request=request)


def second_factor_succeeded(*, user: User, request, factor: Factor) -> None:
    """Record a spent recovery code as a security event (with how many are left)."""
    if factor == Factor.RECOVERY_CODE:
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        security_event_record(
            event_type=SecurityEventType.MFA_RECOVERY_CODE_USED,
            user=user,
            request=request,
            metadata={"recovery_codes_left": left},
        )


def lockout_check(*, user: User, request) -> None:
    """AccountLocked (429) while django-axes holds USER's account locked, whatever the code."""
    if not AxesProxyHandler.is_allowed(request, {"email": user.email}):
        security_event_record(
            event_type=SecurityEventType.LOCKED_OUT, user=user, identifier=user.email, request=request
        )
        raise AccountLocked()


# --- enrolment -----------------------------------------------------------------------------------------------


def _recovery_codes_issue(user: User, now: datetime) -> list[str]:
    """Ten new recovery codes for USER (earlier ones stop working); answers them, the only time they are shown."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode()
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=_recovery_digest(code), created_at=now) for code in codes]
    )
    return codes


@transaction.atomic
def totp_enrolment_start(*, user: User) -> dict[str, str]:
    """Start (or restart) enrolling an authenticator: a new secret, not active until confirmed with a code.

    MfaAlreadyOn (409) while a confirmed authenticator exists. The secret is answered here and never again.
    """
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise MfaAlreadyOn()
    secret = pyotp.random_base32()
    TotpDevice.objects.update_or_create(
        user=user,
        defaults={"secret": secret, "confirmed_at": None, "last_used_step": None, "created_at": timezone.now()},
    )
    url = _totp(secret).provisioning_uri(name=user.email, issuer_name=settings.MFA_TOTP_ISSUER)
    logger.info("mfa_enrolment_started", extra={"user_id": str(user.pk)})
    return {"secret": secret, "otpauth_url": url}


def totp_enrolment_confirm(*, user: User, code: str, request=None) -> list[str]:
    """Turn MFA on with a first correct CODE of the pending authenticator; answers 10 recovery codes, shown once.

    NotFound (404) when no enrolment was started, MfaAlreadyOn (409) when MFA is on, ValidationError (400, `code`)
    for a wrong code (a security event).
    """
    now = timezone.now()
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            raise NotFound("No enrolment was started: POST auth/mfa/totp/ first.")
        if device.confirmed_at is not None:
            raise MfaAlreadyOn()
        accepted = _totp_accept(device, "".join(code.split()), now)
        if accepted:
            TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=now)
            codes = _recovery_codes_issue(user, now)
            security_event_record(event_type=SecurityEventType.MFA_ENROLLED, user=user, request=request)
    if not accepted:
        security_event_record(
            event_type=SecurityEventType.MFA_FAILED,
            user=user,
            identifier=user.email,
            request=request,
            metadata={"stage": "enrolment", "reason": str(Factor.WRONG)},
        )
        raise ValidationError({"code": [WRONG_CODE]})
    logger.info("mfa_enrolled", extra={"user_id": str(user.pk)})
    return codes


def totp_disable(*, user: User, password: str, code: str, request=None) -> None:
    """Turn MFA off: the password and a current code (or an unused recovery code) are both needed.

    NotFound (404) when MFA is off; AccountLocked (429) while the account is locked; ValidationError (400) on
    `password` or `code`, each counted toward the lockout and recorded. Removes the authenticator and every
    recovery code; a security event says so.
    """
    if not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        raise NotFound("Two-factor authentication is not on.")
    lockout_check(user=user, request=request)
    if not user.check_password(password):
        second_factor_failed(user=user, request=request, factor=Factor.WRONG, stage="disable_password")
        raise ValidationError({"password": ["The password is not correct."]})
    factor = second_factor_check(user=user, code=code)
    if factor not in (Factor.TOTP, Factor.RECOVERY_CODE):
        second_factor_failed(user=user, request=request, factor=factor, stage="disable")
        raise ValidationError({"code": [USED_RECOVERY_CODE if factor == Factor.USED_RECOVERY_CODE else WRONG_CODE]})
    second_factor_succeeded(user=user, request=request, factor=factor)
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        security_event_record(event_type=SecurityEventType.MFA_DISABLED, user=user, request=request)
    logger.info("mfa_disabled", extra={"user_id": str(user.pk)})


def totp_reset_by_admin(*, user: User, admin: User, request=None) -> None:
    """An admin turns a person's MFA off (lost phone and codes, identity checked out of band); recorded."""
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        security_event_record(
            event_type=SecurityEventType.MFA_DISABLED, user=user, request=request, metadata={"by_admin": str(admin.pk)}
        )
