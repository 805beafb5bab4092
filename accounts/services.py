"""Writes of accounts: registration, sign-in, tokens, passwords, e-mail verification, profile, roles.

Every function owns its transaction; e-mail leaves through a Celery task after commit, so a rolled-back
registration never mails anybody.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from jeghealth_backend.api.exceptions import ApplicationError

from .audit import security_event_record
from .care_team import care_grants_release
from .choices import RoleName, SecurityEventType
from .mail import account_mail_send
from .models import EmailVerificationToken, Role, User, UserProfile, UserRole, normalize_email

# Token and session writes live in accounts/sessions.py; these names stay importable from here.
from .sessions import (  # noqa: F401 - re-exported
    InvalidRefreshToken,
    sessions_end_all,
    token_blacklist,
    token_refresh,
    tokens_for_user,
    tokens_revoke_all,
)

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = "No account matches this e-mail and password."


class AccountLocked(ApplicationError):
    status_code = 429
    default_code = "account_locked"
    default_detail = "Too many failed sign-in attempts; this account is locked for a while. Try again later."

    def __init__(self) -> None:
        super().__init__()
        # Retry-After: the whole cool-off, an upper bound of what is left of it.
        self.wait = settings.AXES_COOLOFF_TIME.total_seconds()


# --- registration and sign-in ----------------------------------------------------------------------------


@transaction.atomic
def user_register(
    *,
    email: str,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    phone_number: str = "",
    date_of_birth=None,
) -> User:
    """Create an account with the `user` role and an empty profile, and mail a verification link."""
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["An account with this e-mail already exists."]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["This username is taken."]})
    candidate = User(email=email, username=username, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=password,
                username=username,
                first_name=first_name,
                last_name=last_name,
                phone_number=phone_number,
                date_of_birth=date_of_birth,
            )
    except IntegrityError:
        # Two sign-ups with one address raced past the check above; the unique index decided.
        raise ValidationError({"email": ["An account with this e-mail already exists."]}) from None
    email_verification_send(user=user)
    return user


def user_credentials_check(*, request, email: str, password: str) -> User:
    """Check e-mail and password through Django's backends (django-axes first, so failures count toward the lockout).

    A locked account is refused before its password is looked at, so the answer never tells whether the password
    was right. The attempt that reaches the limit is still an ordinary 401: axes flags that request as locked out
    too, so its flag cannot tell "was locked" from "is now locked". Success is not yet a sign-in: with MFA on, the
    second factor decides (accounts/signin.py), and only then does `user_signed_in` clear the failures.
    """
    email = normalize_email(email)
    if not AxesProxyHandler.is_allowed(request, {"email": email}):
        security_event_record(event_type=SecurityEventType.LOCKED_OUT, identifier=email, request=request)
        raise AccountLocked()
    user = authenticate(request=request, email=email, password=password)
    if user is None:
        known = User.objects.filter(email__iexact=email).first()
        security_event_record(event_type=SecurityEventType.LOGIN_FAILED, user=known, identifier=email, request=request)
        raise AuthenticationFailed(INVALID_CREDENTIALS, code="authentication_failed")
    return user


def user_signed_in(*, request, user: User, metadata: dict | None = None) -> None:
    """Every factor asked of USER is proven: `user_logged_in` records `last_login` and lets axes clear the failures
    (AXES_RESET_ON_SUCCESS), and the sign-in is a security event."""
    user_logged_in.send(sender=type(user), request=request, user=user)
    security_event_record(event_type=SecurityEventType.LOGIN, user=user, request=request, metadata=metadata)


# --- e-mail verification -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def email_verification_send(*, user: User) -> None:
    """Issue a new single-use token (earlier unused ones stop working) and mail it as a link."""
    now = timezone.now()
    EmailVerificationToken.objects.filter(user=user, used_at__isnull=True).update(expires_at=now)
    raw = secrets.token_urlsafe(32)
    EmailVerificationToken.objects.create(
        user=user,
        email=user.email,
        token_hash=_digest(raw),
        expires_at=now + timedelta(hours=settings.EMAIL_VERIFICATION_TTL_HOURS),
    )
    link = f"{settings.FRONTEND_URL}/verify-email?token={raw}"
    _send_templated_mail(user=user, template="verify_email", context={"link": link, "token": raw})


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark the address verified. A token works once, before it expires, for the address it was sent to."""
    now = timezone.now()
    record = (
        EmailVerificationToken.objects.select_for_update()
        .select_related("user")
        .filter(token_hash=_digest(token))
        .first()
    )
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise ValidationError({"token": ["This verification link is invalid, used or expired."]})
    if normalize_email(record.email) != record.user.email:
        raise ValidationError({"token": ["This verification link was for another address."]})
    updated = EmailVerificationToken.objects.filter(pk=record.pk, used_at__isnull=True).update(used_at=now)
    if not updated:
        raise ValidationError({"token": ["This verification link is invalid, used or expired."]})
    User.objects.filter(pk=record.user_id).update(is_email_verified=True)
    record.user.is_email_verified = True
    return record.user


# --- passwords -----------------------------------------------------------------------------------------


def _check_new_password(user: User, password: str, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({field: list(exc.messages)}) from None


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str, request=None) -> dict[str, str]:
    """Set a new password; every earlier token stops working. Returns a fresh token pair."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The current password is not correct."]})
    _check_new_password(user, new_password, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)
    sessions_end_all(user=user)
    security_event_record(event_type=SecurityEventType.PASSWORD_CHANGED, user=user, request=request)
    return tokens_for_user(user, request=request)


def password_reset_request(*, email: str) -> None:
    """Mail a reset link if the address has an account. The caller answers the same either way."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(str(user.pk)))
    token = default_token_generator.make_token(user)
    link = f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"
    _send_templated_mail(user=user, template="password_reset", context={"link": link})


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str, request=None) -> User:
    """Set the password from a reset link. The token embeds the old password hash, so it works once."""
    invalid = ValidationError({"token": ["This reset link is invalid or has expired."]})
    try:
        user_id = force_str(urlsafe_base64_decode(uid))
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    except (ValueError, TypeError, OverflowError, DjangoValidationError):
        raise invalid from None
    if user is None or not default_token_generator.check_token(user, token):
        raise invalid
    _check_new_password(user, new_password, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)
    sessions_end_all(user=user)
    security_event_record(event_type=SecurityEventType.PASSWORD_RESET, user=user, request=request)
    return user


# --- the person's own data -----------------------------------------------------------------------------

USER_EDITABLE = ("username", "first_name", "last_name", "phone_number", "date_of_birth")
PROFILE_EDITABLE = (
    "height_cm",
    "blood_type",
    "gender",
    "medical_conditions",
    "allergies",
    "current_medications_notes",
    "emergency_notes",
    "preferred_units",
    "timezone",
)


@transaction.atomic
def user_provision(*, user: User) -> User:
    """Give an account made outside sign-up (the Django admin) what every account has.

    That is a profile and the `user` role, and `admin` for a superuser, as `UserManager.create_user` gives them;
    without a profile the person's profile endpoints would fail. Idempotent.
    """
    UserProfile.objects.get_or_create(user=user)
    names = [RoleName.USER, *([RoleName.ADMIN] if user.is_superuser else [])]
    for role in Role.objects.filter(name__in=names):
        UserRole.objects.get_or_create(user=user, role=role)
    return user


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Change the person's own editable fields; anything else in `data` is ignored, never applied."""
    changed = [f for f in USER_EDITABLE if f in data]
    if "username" in data and User.objects.filter(username__iexact=data["username"]).exclude(pk=user.pk).exists():
        raise ValidationError({"username": ["This username is taken."]})
    for field in changed:
        setattr(user, field, data[field])
    if changed:
        try:
            with transaction.atomic():
                user.save(update_fields=changed)
        except IntegrityError:
            raise ValidationError({"username": ["This username is taken."]}) from None
    profile_data = data.get("profile")
    if isinstance(profile_data, dict):
        profile_update(user=user, data=profile_data)
    return user


@transaction.atomic
def profile_update(*, user: User, data: dict[str, Any]) -> UserProfile:
    profile, _ = UserProfile.objects.select_for_update().get_or_create(user=user)
    changed = [f for f in PROFILE_EDITABLE if f in data]
    for field in changed:
        setattr(profile, field, data[field])
    if changed:
        profile.save(update_fields=[*changed, "updated_at"])
    user.profile = profile
    return profile


@transaction.atomic
def user_delete(*, user: User, password: str) -> None:
    """Erase the account and, through the database's cascades, everything it owns.

    simplejwt keeps issued tokens with SET_NULL and axes keeps attempts by login name, so both are removed
    explicitly. The person's tokens then fail on the missing user. Grants the person made as a patient go with
    them. Two records stay on other people's side, because they are those people's records: the grants the
    person held as a doctor or caregiver are revoked and keep the address they were made to (the link to the
    account is cleared), and audit rows of the person reading someone else's data keep the snapshot of who read
    (id, name, e-mail at the time) while their link to the account is cleared.
    """
    if not user.check_password(password):
        raise ValidationError({"password": ["The password is not correct."]})
    # The row lock first: a write of readings holding its key-share lock on this row commits before the erasure
    # deletes them, and one that comes after finds the account gone (health_metrics.storage.lock_owners).
    User.objects.select_for_update().filter(pk=user.pk).first()
    care_grants_release(grantee=user)
    OutstandingToken.objects.filter(user=user).delete()
    AccessAttempt.objects.filter(username=user.email).delete()
    AccessFailureLog.objects.filter(username=user.email).delete()
    logger.info("account_deleted", extra={"user_id": str(user.pk)})
    user.delete()


# --- roles ---------------------------------------------------------------------------------------------


@transaction.atomic
def role_grant(*, user: User, role_name: str, granted_by: User) -> User:
    role = Role.objects.filter(name=role_name).first()
    if role is None:
        raise ValidationError({"role": [f"Unknown role {role_name!r}."]})
    UserRole.objects.get_or_create(user=user, role=role, defaults={"granted_by": granted_by})
    logger.info("role_granted", extra={"user_id": str(user.pk), "role": role_name, "by": str(granted_by.pk)})
    return user


@transaction.atomic
def role_revoke(*, user: User, role_name: str, revoked_by: User) -> User:
    if not Role.objects.filter(name=role_name).exists():
        raise ValidationError({"role": [f"Unknown role {role_name!r}."]})
    if role_name == "user":
        raise ValidationError({"role": ["Every account holds the `user` role."]})
    if role_name == "admin" and user.is_superuser:
        raise ValidationError({"role": ["A superuser holds the `admin` role; change that in the Django admin."]})
    UserRole.objects.filter(user=user, role__name=role_name).delete()
    logger.info("role_revoked", extra={"user_id": str(user.pk), "role": role_name, "by": str(revoked_by.pk)})
    return user


# --- mail ----------------------------------------------------------------------------------------------


def _send_templated_mail(*, user: User, template: str, context: dict[str, Any]) -> None:
    account_mail_send(
        to=user.email, template=template, context={**context, "user": user}, ref={"user_id": str(user.pk)}
    )
