"""Care-team grants: a patient lets a doctor see data of some scopes, until revoked or expired."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from .audit import security_event_record
from .choices import CareScope, SecurityEventType
from .models import CareTeamGrant, User, normalize_email
from .selectors import user_has_role


def care_grants_visible_to(*, user: User) -> QuerySet[CareTeamGrant]:
    """Grants the user made as a patient or received as a doctor, live ones first."""
    return (
        CareTeamGrant.objects.filter(Q(patient=user) | Q(doctor=user), revoked_at__isnull=True)
        .select_related("patient", "doctor")
        .order_by("-created_at")
    )


@transaction.atomic
def care_grant_create(
    *, patient: User, doctor_email: str, scopes: list[str], expires_at: datetime | None = None, request=None
) -> CareTeamGrant:
    """Grant DOCTOR (by e-mail) the SCOPES on PATIENT's data. A live grant to the same doctor is replaced."""
    doctor = User.objects.filter(email__iexact=normalize_email(doctor_email), is_active=True).first()
    if doctor is None or not user_has_role(doctor, "doctor"):
        raise ValidationError({"doctor_email": ["No doctor has an account with this e-mail address."]})
    if doctor.pk == patient.pk:
        raise ValidationError({"doctor_email": ["You cannot grant access to yourself."]})
    unknown = sorted(set(scopes) - set(CareScope.values))
    if unknown or not scopes:
        raise ValidationError({"scopes": [f"Choose among {', '.join(CareScope.values)}."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    now = timezone.now()
    # Lock the pair's live grant so two concurrent grants leave exactly one live row.
    CareTeamGrant.objects.select_for_update().filter(patient=patient, doctor=doctor, revoked_at__isnull=True).update(
        revoked_at=now
    )
    try:
        with transaction.atomic():
            grant = CareTeamGrant.objects.create(
                patient=patient, doctor=doctor, scopes=sorted(set(scopes)), expires_at=expires_at
            )
    except IntegrityError:
        raise ValidationError({"doctor_email": ["A grant to this doctor is being changed; try again."]}) from None
    security_event_record(
        event_type=SecurityEventType.GRANT_CREATED,
        user=patient,
        request=request,
        metadata={"grant_id": str(grant.pk), "doctor_id": str(doctor.pk), "scopes": grant.scopes},
    )
    return grant


@transaction.atomic
def care_grant_revoke(*, grant: CareTeamGrant, by: User, request=None) -> None:
    """Only the patient revokes; the doctor can read the grant but never change it."""
    if grant.patient_id != by.pk:
        raise PermissionDenied("Only the patient who made this grant can revoke it.")
    updated = CareTeamGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        security_event_record(
            event_type=SecurityEventType.GRANT_REVOKED,
            user=by,
            request=request,
            metadata={"grant_id": str(grant.pk), "doctor_id": str(grant.doctor_id)},
        )
