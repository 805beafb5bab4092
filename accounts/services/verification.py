"""E-mail verification: single-use, expiring tokens mailed as a link; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from ..models import EmailVerificationToken, User, normalize_email
from .mail import templated_mail_send


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
    templated_mail_send(user=user, template="verify_email", context={"link": link, "token": raw})


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
