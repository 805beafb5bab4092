"""Whose data a request acts on, in one place for every app.

A person acts on their own data. A doctor or a caregiver acts on a patient's data by adding `patient=<id>` to
the query, and only while the patient's live grant to them covers the app's scope; in every other case the
answer is 404, with no hint whether the patient exists. A caregiver only reads (403 on every write), a doctor
writes only where an app says so. Each access to someone else's data is written to the audit log in the same
request. This module is the one place grants are checked: views use `subject_for`/`PatientScopedMixin`,
services `grant_covers`/`grant_require_write`, and `accounts.selectors.care_grantees` reads the same liveness.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from .audit import ACTION_BY_METHOD, audit_record
from .choices import OrganizationRole
from .models import CareTeamGrant, OrganizationMembership, User

CAREGIVER_READ_ONLY = "A caregiver's grant lets you read this patient's data, never change it."
DOCTOR_READ_ONLY = "A care-team grant lets you read this patient's data, not change it."


def live_grants(*, grantee: User) -> QuerySet[CareTeamGrant]:
    """Grants GRANTEE reads under right now (`CareTeamGrant.objects.live()`): their own, and those made to an
    organization in which they are a doctor member (`held_by`)."""
    return CareTeamGrant.objects.live().held_by(grantee)


def live_grant(*, grantee: User, patient_id, scope: str) -> CareTeamGrant | None:
    """GRANTEE's live grant from PATIENT_ID if it covers SCOPE, else None. The one check behind every `?patient=`.

    A reader may hold two at once (their own and their clinic's); the one covering SCOPE wins, a personal one
    first. Scopes are checked here, not in SQL: JSON containment is not portable to SQLite.
    """
    if not getattr(grantee, "is_authenticated", False):
        return None
    grants = live_grants(grantee=grantee).filter(patient_id=patient_id).only("id", "role", "scopes", "grantee_id")
    covering = [grant for grant in grants if scope in (grant.scopes or [])]
    covering.sort(key=lambda grant: grant.grantee_id is None)
    return covering[0] if covering else None


def grant_covers(*, grantee: User, patient_id, scope: str) -> bool:
    """Whether GRANTEE may read PATIENT_ID's data of SCOPE right now (doctor or caregiver alike)."""
    return live_grant(grantee=grantee, patient_id=patient_id, scope=scope) is not None


def patient_for(*, reader: User, patient_id, scope: str) -> User:
    """The active patient PATIENT_ID whose live grant to READER covers SCOPE (a body's `patient`, where a query's
    `?patient=` goes through `subject_for`). Raises Http404 otherwise, whether or not the patient exists."""
    patient = None
    if live_grant(grantee=reader, patient_id=patient_id, scope=scope) is not None:
        patient = User.objects.select_related("profile").filter(pk=patient_id, is_active=True).first()
    if patient is None:
        raise Http404
    return patient


def clinic_patient_for(*, actor: User, patient_id) -> tuple[User, list]:
    """The active patient PATIENT_ID of a clinic where ACTOR is staff or a clinic admin (the patient's live grant
    to it covers `appointments`), and the ids of those clinics. Raises Http404 otherwise: nobody outside a clinic
    learns anything of its patients. Read at each call, so a removed member or a revoked grant acts at once."""
    acting = OrganizationMembership.objects.filter(
        user=actor, role__in=[OrganizationRole.STAFF, OrganizationRole.CLINIC_ADMIN]
    ).values("organization_id")
    grants = CareTeamGrant.objects.live().filter(patient_id=patient_id, organization_id__in=acting)
    organizations = [org for org, scopes in grants.values_list("organization_id", "scopes") if "appointments" in scopes]
    patient = None
    if organizations:
        patient = User.objects.select_related("profile").filter(pk=patient_id, is_active=True).first()
    if patient is None:
        raise Http404
    return patient, organizations


def clinic_doctor_ids(*, organizations: list) -> QuerySet:
    """The user ids of the doctor members of ORGANIZATIONS: the providers their staff book with."""
    return OrganizationMembership.objects.filter(
        organization_id__in=organizations, role=OrganizationRole.DOCTOR
    ).values("user_id")


def grant_require_write(*, grantee: User, patient_id, scope: str) -> CareTeamGrant:
    """GRANTEE's live grant from PATIENT_ID of SCOPE, when it lets them write where an app allows a grantee to.

    Raises Http404 without a live grant of the scope (whether or not the patient exists), and PermissionDenied
    (403) for a caregiver's grant: a caregiver never writes the patient's data.
    """
    grant = live_grant(grantee=grantee, patient_id=patient_id, scope=scope)
    if grant is None:
        raise Http404
    if not grant.allows_write:
        raise PermissionDenied(CAREGIVER_READ_ONLY)
    return grant


def subject_for(request: Request, *, scope: str) -> User:
    """The person whose data REQUEST reads or writes, for an app of SCOPE. Raises Http404 when not allowed.

    Resolved once per request and scope; the grant it was resolved under is kept for `grant_for`.
    """
    cached = getattr(request, "_jeg_subjects", {})
    if scope in cached:
        return cached[scope]
    raw = request.query_params.get("patient")
    if raw in (None, ""):
        subject = request.user
    else:
        try:
            patient_id = uuid.UUID(str(raw))
        except ValueError:
            raise Http404 from None
        if patient_id == request.user.pk:
            subject = request.user
        else:
            grant = live_grant(grantee=request.user, patient_id=patient_id, scope=scope)
            subject = None
            if grant is not None:
                subject = User.objects.select_related("profile").filter(pk=patient_id, is_active=True).first()
            if subject is None:
                raise Http404
            grants = getattr(request, "_jeg_grants", {})
            grants[scope] = grant
            request._jeg_grants = grants
    cached[scope] = subject
    request._jeg_subjects = cached
    return subject


def grant_for(request: Request, *, scope: str) -> CareTeamGrant | None:
    """The grant under which REQUEST acts on someone else's data of SCOPE (None for one's own data).

    Resolves the subject first, so it raises Http404 exactly when `subject_for` does.
    """
    subject_for(request, scope=scope)
    return getattr(request, "_jeg_grants", {}).get(scope)


class PatientScopedMixin:
    """For viewsets whose rows belong to one person: resolves the subject and audits access by others.

    Set `care_scope` (the grant scope) and `audit_resource_type`. Querysets use `self.subject`; a successful
    answer to a grantee acting on a patient writes one audit row per object touched (or one for a list).

    Writes under `?patient=` are refused (403) before the view runs: always under a caregiver's grant, and
    under a doctor's unless the app sets `others_may_write` (its actions then decide what a doctor may do).
    """

    care_scope: str = ""
    audit_resource_type: str = ""
    # Grantees read a patient's data; an app that lets doctors write (appointment status) says so. Caregivers never.
    others_may_write: bool = False

    @property
    def subject(self) -> User:
        return subject_for(self.request, scope=self.care_scope)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A method the view does not serve is dispatch's 405, whoever's data the query names (TRACE is not safe).
        served = request.method.lower() in self.http_method_names and hasattr(self, request.method.lower())
        if served and request.method not in SAFE_METHODS and self.acting_for_other:
            grant = grant_for(request, scope=self.care_scope)
            if grant is not None and not grant.allows_write:
                raise PermissionDenied(CAREGIVER_READ_ONLY)
            if not self.others_may_write:
                raise PermissionDenied(DOCTOR_READ_ONLY)

    @property
    def acting_for_other(self) -> bool:
        return self.subject.pk != self.request.user.pk

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        subjects = getattr(request, "_jeg_subjects", {})
        subject = subjects.get(self.care_scope)
        if subject is not None and subject.pk != request.user.pk and 200 <= response.status_code < 300:
            audit_record(
                actor=request.user,
                patient=subject,
                action=ACTION_BY_METHOD.get(request.method, "read"),
                resource_type=self.audit_resource_type,
                resource_ids=self._audited_ids(response),
                request=request,
            )
        return response

    def _audited_ids(self, response) -> list[str]:
        lookup = self.kwargs.get(getattr(self, "lookup_url_kwarg", None) or getattr(self, "lookup_field", "pk"))
        if lookup:
            return [str(lookup)]
        data = getattr(response, "data", None)
        if isinstance(data, dict) and data.get("id"):
            return [str(data["id"])]
        return [""]
