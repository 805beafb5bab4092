"""Sign-in's first factor: e-mail and password through Django's backends and django-axes' lockout."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from rest_framework.exceptions import AuthenticationFailed

from ..audit import security_event_record
from ..choices import SecurityEventType
from ..exceptions import AccountLocked
from ..models import User, normalize_email

INVALID_CREDENTIALS = "No account matches this e-mail and password."


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
