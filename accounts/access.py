"""Whose data a request acts on, in one place for every app.

A person acts on their own data. A doctor acts on a patient's data by adding `patient=<id>` to the query, and
only while the patient's live grant covers the app's scope; in every other case the answer is 404, with no hint
whether the patient exists. Each access to someone else's data is written to the audit log in the same request.
"""

from __future__ import annotations

import uuid

from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from .audit import ACTION_BY_METHOD, audit_record
from .models import CareTeamGrant, User
from .selectors import user_has_role


def live_grants(*, doctor: User):
    """Grants to DOCTOR that are neither revoked nor expired, right now."""
    now = timezone.now()
    return CareTeamGrant.objects.filter(doctor=doctor, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def grant_covers(*, doctor: User, patient_id, scope: str) -> bool:
    if not user_has_role(doctor, "doctor"):
        return False
    grant = live_grants(doctor=doctor).filter(patient_id=patient_id).only("scopes").first()
    return grant is not None and scope in (grant.scopes or [])


def subject_for(request: Request, *, scope: str) -> User:
    """The person whose data REQUEST reads or writes, for an app of SCOPE. Raises Http404 when not allowed."""
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
        elif grant_covers(doctor=request.user, patient_id=patient_id, scope=scope):
            subject = User.objects.select_related("profile").filter(pk=patient_id, is_active=True).first()
            if subject is None:
                raise Http404
        else:
            raise Http404
    cached[scope] = subject
    request._jeg_subjects = cached
    return subject


class PatientScopedMixin:
    """For viewsets whose rows belong to one person: resolves the subject and audits access by others.

    Set `care_scope` (the grant scope) and `audit_resource_type`. Querysets use `self.subject`; a successful
    answer to a doctor acting on a patient writes one audit row per object touched (or one for a list).
    """

    care_scope: str = ""
    audit_resource_type: str = ""
    # Doctors read a patient's data; an app that lets them write (prescriptions, appointment status) says so.
    others_may_write: bool = False

    @property
    def subject(self) -> User:
        return subject_for(self.request, scope=self.care_scope)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A method the view does not serve is dispatch's 405, whoever's data the query names (TRACE is not safe).
        served = request.method.lower() in self.http_method_names and hasattr(self, request.method.lower())
        if served and request.method not in SAFE_METHODS and not self.others_may_write and self.acting_for_other:
            raise PermissionDenied("A care-team grant lets you read this patient's data, not change it.")

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
