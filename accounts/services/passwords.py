"""Password change and reset: every earlier token and session of the account stops working."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework.exceptions import ValidationError

from ..audit import security_event_record
from ..choices import SecurityEventType
from ..models import User, normalize_email
from ..sessions import sessions_end_all, tokens_for_user, tokens_revoke_all
from .mail import templated_mail_send


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
    templated_mail_send(user=user, template="password_reset", context={"link": link})


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
