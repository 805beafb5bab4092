"""Reads of accounts: users with their profile and roles in one query each, and who follows a patient."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import AuthSession, CareTeamGrant, Organization, OrganizationMembership, Role, TotpDevice, User, UserRole


def user_queryset() -> QuerySet[User]:
    return User.objects.select_related("profile").prefetch_related(
        Prefetch("user_roles", queryset=UserRole.objects.select_related("role"))
    )


def user_get(*, user_id) -> User | None:
    return user_queryset().filter(pk=user_id).first()


def user_role_names(user: User) -> list[str]:
    names = {ur.role.name for ur in user.user_roles.all()}
    # A Django superuser holds `admin` whether or not a row says so (one made superuser in the Django admin has none).
    if user.is_superuser:
        names.add("admin")
    return sorted(names)


def user_has_role(user, name: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if name == "admin" and user.is_superuser:
        return True
    return UserRole.objects.filter(user=user, role__name=name).exists()


def role_list() -> QuerySet[Role]:
    return Role.objects.order_by("name")


def care_grantees(*, patient_id, scope: str) -> QuerySet[User]:
    """The active accounts holding a live, accepted grant from PATIENT_ID that covers SCOPE, doctors and
    caregivers alike, ordered by e-mail then id (stable).

    Liveness is `CareTeamGrant.objects.live()`, the same rule every `?patient=` read goes through: pending
    invitations, revoked and expired grants, and doctors' grants to an account that lost the doctor role are
    not in it. Scopes are filtered here rather than in SQL because JSON containment is not portable to SQLite;
    a patient holds a handful of grants, and the answer is still one queryset of users.
    """
    holders = [
        grantee_id
        for grantee_id, scopes in CareTeamGrant.objects.live()
        .filter(patient_id=patient_id)
        .values_list("grantee_id", "scopes")
        if scope in (scopes or [])
    ]
    return User.objects.filter(pk__in=holders, is_active=True).exclude(pk=patient_id).order_by("email", "id")


def mfa_enabled(user: User) -> bool:
    """USER has a confirmed authenticator (an enrolment not yet confirmed does not count)."""
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def mfa_required_for(user: User) -> bool:
    """USER holds a role of MFA_REQUIRED_ROLES (a superuser holds `admin`), so must have MFA on."""
    required = set(settings.MFA_REQUIRED_ROLES)
    if not required:
        return False
    if "admin" in required and user.is_superuser:
        return True
    return UserRole.objects.filter(user=user, role__name__in=required).exists()


def session_list(*, user: User) -> QuerySet[AuthSession]:
    """USER's signed-in sessions: not ended, refresh token not expired; the most recently used first."""
    return AuthSession.objects.filter(user=user, ended_at__isnull=True, expires_at__gt=timezone.now()).order_by(
        "-last_used_at", "-created_at"
    )


def organizations_of(*, user: User) -> QuerySet[Organization]:
    """The organizations USER is a member of (any other answers 404), by name."""
    return Organization.objects.filter(memberships__user=user).order_by("name", "id")


def organization_members(*, organization: Organization) -> QuerySet[OrganizationMembership]:
    return organization.memberships.select_related("user").order_by("created_at", "id")


def organization_roles_of(*, user: User, organization_id) -> set[str]:
    return set(
        OrganizationMembership.objects.filter(user=user, organization_id=organization_id).values_list("role", flat=True)
    )


def organizations_acting_for(*, user: User, roles: tuple[str, ...]) -> QuerySet[OrganizationMembership]:
    """USER's memberships of ROLES (the ids of the organizations they act for in that capacity)."""
    return OrganizationMembership.objects.filter(user=user, role__in=roles)


def is_clinic_admin_of(*, actor: User, member_id) -> bool:
    """ACTOR is a clinic admin of an organization in which MEMBER_ID is a doctor member (the providers whose
    working hours and days off a clinic admin manages)."""
    administered = OrganizationMembership.objects.filter(user=actor, role="clinic_admin").values("organization_id")
    return OrganizationMembership.objects.filter(
        organization_id__in=administered, user_id=member_id, role="doctor"
    ).exists()
