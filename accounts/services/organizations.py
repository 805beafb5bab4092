"""Writes of organizations (clinics) and their members.

Who may do what: any doctor or admin creates an organization and becomes its first clinic admin; a clinic admin
renames or deletes it and adds, changes and removes members; a member may leave. The `doctor` role needs an
account holding the doctor role. Membership is read on every request (`CareTeamGrantQuerySet.held_by`), so a
removal acts on the next one. Every membership change is a security event naming who acted.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from ..audit import security_event_record
from ..choices import OrganizationRole, RoleName, SecurityEventType
from ..exceptions import LastClinicAdmin, NotAClinicAdmin
from ..models import Organization, OrganizationMembership, User, normalize_email
from ..selectors import user_has_role


def _require_clinic_admin(*, organization: Organization, actor: User) -> None:
    if not OrganizationMembership.objects.filter(
        organization=organization, user=actor, role=OrganizationRole.CLINIC_ADMIN
    ).exists():
        raise NotAClinicAdmin()


def _member_event(event_type: str, *, membership: OrganizationMembership, actor: User, request) -> None:
    security_event_record(
        event_type=event_type,
        user=actor,
        request=request,
        metadata={
            "organization_id": str(membership.organization_id),
            "member_id": str(membership.pk),
            "user_id": str(membership.user_id),
            "role": membership.role,
        },
    )


@transaction.atomic
def organization_create(*, name: str, creator: User, request=None) -> Organization:
    """A new organization of CREATOR (a doctor or an admin, else 403), its first clinic admin."""
    if not (user_has_role(creator, RoleName.DOCTOR) or user_has_role(creator, RoleName.ADMIN)):
        raise PermissionDenied("Only a doctor or an admin can create an organization.")
    organization = Organization.objects.create(name=name, created_by=creator)
    membership = OrganizationMembership.objects.create(
        organization=organization, user=creator, role=OrganizationRole.CLINIC_ADMIN
    )
    _member_event(SecurityEventType.ORGANIZATION_MEMBER_ADDED, membership=membership, actor=creator, request=request)
    return organization


@transaction.atomic
def organization_update(*, organization: Organization, actor: User, name: str) -> Organization:
    _require_clinic_admin(organization=organization, actor=actor)
    organization.name = name
    organization.save(update_fields=["name"])
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization, actor: User) -> None:
    """Delete ORGANIZATION with its memberships and the grants patients made to it (they give nothing then)."""
    _require_clinic_admin(organization=organization, actor=actor)
    organization.delete()


def _check_role(user: User, role: str) -> None:
    if role == OrganizationRole.DOCTOR and not user_has_role(user, RoleName.DOCTOR):
        raise ValidationError({"role": ["The doctor role needs an account holding the doctor role."]})


@transaction.atomic
def member_add(
    *, organization: Organization, actor: User, email: str, role: str, request=None
) -> OrganizationMembership:
    """Add the account of EMAIL to ORGANIZATION with ROLE. 400: no such account, already a member, or the doctor
    role for an account without it."""
    _require_clinic_admin(organization=organization, actor=actor)
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        raise ValidationError({"email": ["No account has this e-mail address."]})
    _check_role(user, role)
    try:
        with transaction.atomic():
            membership = OrganizationMembership.objects.create(organization=organization, user=user, role=role)
    except IntegrityError:
        raise ValidationError({"email": ["This person is already a member."]}) from None
    _member_event(SecurityEventType.ORGANIZATION_MEMBER_ADDED, membership=membership, actor=actor, request=request)
    return membership


def _keeps_an_admin(membership: OrganizationMembership) -> None:
    others = OrganizationMembership.objects.filter(
        organization_id=membership.organization_id, role=OrganizationRole.CLINIC_ADMIN
    ).exclude(pk=membership.pk)
    if membership.role == OrganizationRole.CLINIC_ADMIN and not others.exists():
        raise LastClinicAdmin()


@transaction.atomic
def member_update(
    *, membership: OrganizationMembership, actor: User, role: str, request=None
) -> OrganizationMembership:
    _require_clinic_admin(organization=membership.organization, actor=actor)
    locked = OrganizationMembership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    _check_role(locked.user, role)
    if role != OrganizationRole.CLINIC_ADMIN:
        _keeps_an_admin(locked)
    locked.role = role
    locked.save(update_fields=["role"])
    _member_event(SecurityEventType.ORGANIZATION_MEMBER_ADDED, membership=locked, actor=actor, request=request)
    return locked


@transaction.atomic
def member_remove(*, membership: OrganizationMembership, actor: User, request=None) -> None:
    """A clinic admin removes a member, or a member leaves; the last clinic admin stays (409)."""
    if membership.user_id != actor.pk:
        _require_clinic_admin(organization=membership.organization, actor=actor)
    # The organization's admins one change at a time, so that two removals cannot leave it with none.
    Organization.objects.select_for_update().filter(pk=membership.organization_id).first()
    _keeps_an_admin(membership)
    _member_event(SecurityEventType.ORGANIZATION_MEMBER_REMOVED, membership=membership, actor=actor, request=request)
    membership.delete()
