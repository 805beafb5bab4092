"""Roles granted and removed by an admin (`users/{id}/roles/`)."""

from __future__ import annotations

import logging

from django.db import transaction
from rest_framework.exceptions import ValidationError

from ..models import Role, User, UserRole

logger = logging.getLogger(__name__)


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
