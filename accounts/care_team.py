"""Care-team grants: a patient lets a doctor, or a caregiver they invite, see data of some scopes.

Every write here owns its transaction, locks the rows it replaces, lets the database's unique constraints decide
races (one live grant per patient and grantee, and per patient and address), records a security event naming
the account that acted, and mails only after commit. Who may read what under a grant is `accounts.access`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from .audit import security_event_record
from .choices import CareScope, GrantRole, GrantStatus, OrganizationRole, SecurityEventType
from .mail import account_mail_send
from .models import CareTeamGrant, Organization, OrganizationMembership, User, normalize_email
from .selectors import user_has_role

INVITATION_TTL = timedelta(days=7)
INVALID_INVITATION = "This invitation link is invalid, used, expired or withdrawn."
OTHER_ADDRESS = "This invitation was sent to another e-mail address: sign in with that address to accept it."
CONCURRENT = "A grant to this person is being changed at the same time; try again."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_terms(*, scopes: list[str], expires_at: datetime | None) -> list[str]:
    unknown = sorted(set(scopes) - set(CareScope.values))
    if unknown or not scopes:
        raise ValidationError({"scopes": [f"Choose among {', '.join(CareScope.values)}."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    return sorted(set(scopes))


def _event_metadata(grant: CareTeamGrant, **extra) -> dict:
    """What a security event says of a grant: ids, role and scopes; never an address or a name."""
    return {
        "grant_id": str(grant.pk),
        "patient_id": str(grant.patient_id),
        "grantee_id": str(grant.grantee_id) if grant.grantee_id else None,
        "role": grant.role,
        "scopes": grant.scopes,
        **extra,
    }


def _address_or_account(email: str, account: User | None) -> Q:
    """Grants made to the address EMAIL, or held by ACCOUNT, the account of that address (if there is one)."""
    match = Q(invited_email__iexact=email)
    return match | Q(grantee=account) if account is not None else match


def _replace_live(*, patient: User, match: Q, by: User, request, replaced_by: str) -> None:
    """Revoke PATIENT's live grants that MATCH, because a new one replaces them; they are locked first.

    The lock makes two concurrent replacements queue; the second then finds the first's new grant and replaces
    it in turn, and the unique constraints settle whatever slips between (a 400 asking to try again).
    """
    previous = list(CareTeamGrant.objects.select_for_update().filter(match, patient=patient, revoked_at__isnull=True))
    now = timezone.now()
    for old in previous:
        status_before = old.status
        CareTeamGrant.objects.filter(pk=old.pk).update(revoked_at=now)
        security_event_record(
            event_type=SecurityEventType.GRANT_REVOKED,
            user=by,
            request=request,
            metadata=_event_metadata(old, status_before=status_before, reason="replaced", replaced_by=replaced_by),
        )


def _create(**fields) -> CareTeamGrant:
    try:
        with transaction.atomic():
            return CareTeamGrant.objects.create(**fields)
    except IntegrityError:
        raise ValidationError({"email": [CONCURRENT]}) from None


@transaction.atomic
def care_grant_create(
    *, patient: User, doctor_email: str, scopes: list[str], expires_at: datetime | None = None, request=None
) -> CareTeamGrant:
    """Grant the doctor with DOCTOR_EMAIL the SCOPES on PATIENT's data, in force at once.

    The address must be an active account holding the doctor role (else 400 on `doctor_email`, the same answer
    for an unknown address). A live grant from PATIENT to that doctor or that address is replaced (revoked).
    """
    doctor = User.objects.filter(email__iexact=normalize_email(doctor_email), is_active=True).first()
    if doctor is None or not user_has_role(doctor, "doctor"):
        raise ValidationError({"doctor_email": ["No doctor has an account with this e-mail address."]})
    if doctor.pk == patient.pk:
        raise ValidationError({"doctor_email": ["You cannot grant access to yourself."]})
    scopes = _check_terms(scopes=scopes, expires_at=expires_at)
    grant_id = uuid.uuid4()
    _replace_live(
        patient=patient,
        match=_address_or_account(doctor.email, doctor),
        by=patient,
        request=request,
        replaced_by=str(grant_id),
    )
    grant = _create(
        id=grant_id,
        patient=patient,
        role=GrantRole.DOCTOR,
        grantee=doctor,
        invited_email=doctor.email,
        scopes=scopes,
        expires_at=expires_at,
    )
    security_event_record(
        event_type=SecurityEventType.GRANT_CREATED,
        user=patient,
        request=request,
        metadata=_event_metadata(grant, doctor_id=str(doctor.pk)),
    )
    return grant


@transaction.atomic
def care_grant_to_organization_create(
    *, patient: User, organization_id, scopes: list[str], expires_at: datetime | None = None, request=None
) -> CareTeamGrant:
    """Grant the organization ORGANIZATION_ID the SCOPES on PATIENT's data, in force at once: every doctor member
    of it reads under the grant while a member. A live grant from PATIENT to that organization is replaced.

    The patient need not be a member: they name the clinic by the id it gave them. An unknown id is 400 on
    `organization` (nothing tells whether an organization exists to someone outside it but this id check).
    """
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise ValidationError({"organization": ["No organization has this id."]})
    scopes = _check_terms(scopes=scopes, expires_at=expires_at)
    grant_id = uuid.uuid4()
    _replace_live(
        patient=patient, match=Q(organization=organization), by=patient, request=request, replaced_by=str(grant_id)
    )
    try:
        with transaction.atomic():
            grant = CareTeamGrant.objects.create(
                id=grant_id,
                patient=patient,
                role=GrantRole.DOCTOR,
                organization=organization,
                scopes=scopes,
                expires_at=expires_at,
            )
    except IntegrityError:
        raise ValidationError({"organization": [CONCURRENT]}) from None
    security_event_record(
        event_type=SecurityEventType.GRANT_CREATED,
        user=patient,
        request=request,
        metadata=_event_metadata(grant, organization_id=str(organization.pk)),
    )
    return grant


@transaction.atomic
def care_invitation_create(
    *, patient: User, email: str, scopes: list[str], expires_at: datetime | None = None, request=None
) -> CareTeamGrant:
    """Invite the address EMAIL (with or without an account) to be PATIENT's caregiver for SCOPES.

    The grant is created `invited`: it gives nothing until the account with that address accepts the link mailed
    after commit (`FRONTEND_URL/care-invite?token=…`, single-use, valid `INVITATION_TTL`; only its SHA-256 is
    kept). A live grant or invitation from PATIENT to that address (or to the account holding it) is replaced.
    Errors: 400 for one's own address, unknown scopes or a past expiry.
    """
    email = normalize_email(email)
    if email == normalize_email(patient.email):
        raise ValidationError({"email": ["You cannot invite yourself."]})
    scopes = _check_terms(scopes=scopes, expires_at=expires_at)
    holder = User.objects.filter(email__iexact=email).first()
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    grant_id = uuid.uuid4()
    _replace_live(
        patient=patient,
        match=_address_or_account(email, holder),
        by=patient,
        request=request,
        replaced_by=str(grant_id),
    )
    grant = _create(
        id=grant_id,
        patient=patient,
        role=GrantRole.CAREGIVER,
        grantee=None,
        invited_email=email,
        scopes=scopes,
        expires_at=expires_at,
        accepted_at=None,
        invitation_token_hash=_digest(raw),
        invitation_expires_at=now + INVITATION_TTL,
    )
    security_event_record(
        event_type=SecurityEventType.CARE_INVITATION_SENT,
        user=patient,
        request=request,
        metadata=_event_metadata(grant),
    )
    account_mail_send(
        to=email,
        template="care_invitation",
        context={
            "patient_name": patient.full_name,
            "email": email,
            "scopes_text": ", ".join(CareScope(s).label.lower() for s in scopes),
            "link": f"{settings.FRONTEND_URL}/care-invite?token={raw}",
            "days": INVITATION_TTL.days,
        },
        ref={"grant_id": str(grant.pk)},
    )
    return grant


@transaction.atomic
def care_invitation_accept(*, user: User, token: str, request=None) -> CareTeamGrant:
    """USER accepts the invitation of TOKEN: the grant becomes theirs and `active`.

    Only the account whose e-mail is the invited address (compared case-insensitively) may accept. The token
    works once: it is cleared on acceptance. Errors (400 on `token`, nothing changed): unknown, used, expired
    (the link's 7 days or the grant's own expiry), revoked or replaced, or another account's address. A live
    grant the same patient had made to USER otherwise (another address) is replaced.
    """
    grant = (
        CareTeamGrant.objects.select_for_update()
        .select_related("patient")
        .filter(invitation_token_hash=_digest(token))
        .first()
    )
    if grant is None or grant.status != GrantStatus.INVITED or not grant.patient.is_active:
        raise ValidationError({"token": [INVALID_INVITATION]})
    if normalize_email(user.email) != normalize_email(grant.invited_email) or user.pk == grant.patient_id:
        raise ValidationError({"token": [OTHER_ADDRESS]})
    _replace_live(
        patient=grant.patient,
        match=Q(grantee=user) & ~Q(pk=grant.pk),
        by=user,
        request=request,
        replaced_by=str(grant.pk),
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            updated = CareTeamGrant.objects.filter(
                pk=grant.pk, accepted_at__isnull=True, revoked_at__isnull=True
            ).update(grantee=user, accepted_at=now, invitation_token_hash=None)
    except IntegrityError:
        raise ValidationError({"token": [CONCURRENT]}) from None
    if not updated:
        raise ValidationError({"token": [INVALID_INVITATION]})
    grant.refresh_from_db()
    security_event_record(
        event_type=SecurityEventType.CARE_INVITATION_ACCEPTED,
        user=user,
        request=request,
        metadata=_event_metadata(grant),
    )
    return grant


def _may_revoke(grant: CareTeamGrant, by: User) -> bool:
    """The patient, or staff allowed to change grants in the Django admin (on the patient's request)."""
    if grant.patient_id == by.pk:
        return True
    return bool(by.is_staff and by.has_perm("accounts.change_careteamgrant"))


@transaction.atomic
def care_grant_revoke(*, grant: CareTeamGrant, by: User, request=None) -> bool:
    """Revoke GRANT (an invitation or a grant in force); it gives nothing from the next request on.

    BY is the patient, or an admin acting on the patient's request (the Django admin's action). The grantee can
    read the grant but never change it (PermissionDenied). Returns whether this call revoked it (False: it
    already was). A revoked grant stays revoked: nothing un-revokes one.
    """
    if not _may_revoke(grant, by):
        raise PermissionDenied("Only the patient who made this grant can revoke it.")
    locked = CareTeamGrant.objects.select_for_update().filter(pk=grant.pk, revoked_at__isnull=True).first()
    if locked is None:
        return False
    status_before = locked.status
    now = timezone.now()
    CareTeamGrant.objects.filter(pk=locked.pk).update(revoked_at=now)
    grant.revoked_at = now
    security_event_record(
        event_type=SecurityEventType.GRANT_REVOKED,
        user=by,
        request=request,
        metadata=_event_metadata(
            locked,
            status_before=status_before,
            reason="patient" if by.pk == locked.patient_id else "admin",
            doctor_id=str(locked.grantee_id) if locked.role == GrantRole.DOCTOR else None,
        ),
    )
    return True


@transaction.atomic
def care_grants_release(*, grantee: User) -> int:
    """Before GRANTEE's account is erased: revoke the grants they hold, so each patient's record says so.

    The patient's row stays, with the address it was made to; `CareTeamGrant.grantee`'s on_delete then clears
    the link. Recorded as security events of no account (the grantee's own events go with them). Returns how
    many grants were revoked.
    """
    live = list(CareTeamGrant.objects.select_for_update().filter(grantee=grantee, revoked_at__isnull=True))
    now = timezone.now()
    for grant in live:
        status_before = grant.status
        CareTeamGrant.objects.filter(pk=grant.pk).update(revoked_at=now)
        security_event_record(
            event_type=SecurityEventType.GRANT_REVOKED,
            user=None,
            metadata=_event_metadata(grant, status_before=status_before, reason="grantee_erased"),
        )
    return len(live)


def _doctor_organizations(user: User):
    return OrganizationMembership.objects.filter(user=user, role=OrganizationRole.DOCTOR).values("organization_id")


def care_grants_visible_to(*, user: User, side: str | None = None) -> QuerySet[CareTeamGrant]:
    """Grants USER made as a patient (SIDE "patient") or holds as grantee (SIDE "grantee"), or both (None).

    Revoked grants are left out; expired ones and pending invitations stay (their `status` says so). An
    invitation addressed to USER's address is not "held" until accepted: listing those would show a patient's
    name to whoever registered with an address they may not own.
    """
    if side == "patient":
        match = Q(patient=user)
    elif side == "grantee":
        match = Q(grantee=user) | Q(organization__in=_doctor_organizations(user))
    else:
        match = Q(patient=user) | Q(grantee=user) | Q(organization__in=_doctor_organizations(user))
    return (
        CareTeamGrant.objects.filter(match, revoked_at__isnull=True)
        .select_related("patient", "grantee", "organization")
        .order_by("-created_at", "id")
    )
