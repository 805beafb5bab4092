"""Sign-up: an account with the `user` role and an empty profile, and a verification e-mail after commit."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from ..models import User, normalize_email
from .verification import email_verification_send


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
