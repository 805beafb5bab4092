"""The person's own account: provisioning, editable fields, profile and erasure."""

from __future__ import annotations

import logging
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from ..care_team import care_grants_release
from ..choices import RoleName
from ..models import Role, User, UserProfile, UserRole

logger = logging.getLogger(__name__)


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
