"""`GET auth/export/`: everything the service holds about a person, as one JSON document, streamed.

Each app that keeps personal data has an `export.py` with `export_sections(user)`, yielding
`(section_name, rows)` where rows is an iterable of JSON-ready dicts (querysets read with `.iterator()`), so a
long history never sits in memory. Secrets are never exported: no password hash, no key hash, no token.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator

import orjson
from django.apps import apps
from django.utils import timezone

from jeghealth_backend.api.renderers import json_default

from .choices import GrantRole
from .models import AuditEvent, CareTeamGrant, SecurityEvent, User

APPS_WITH_DATA = (
    "accounts",
    "alerts",
    "health_metrics",
    "iot_devices",
    "notifications",
    "appointments",
    "medications",
    "reports",
)


def _dumps(value) -> bytes:
    return orjson.dumps(value, default=json_default)


def export_sections(user: User) -> Iterator[tuple[str, Iterable[dict]]]:
    profile = getattr(user, "profile", None)
    yield (
        "account",
        [
            {
                "id": str(user.pk),
                "email": user.email,
                "username": user.username,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "phone_number": user.phone_number,
                "date_of_birth": user.date_of_birth,
                "is_email_verified": user.is_email_verified,
                "date_joined": user.date_joined,
                "roles": sorted(ur.role.name for ur in user.user_roles.select_related("role")),
                "profile": None
                if profile is None
                else {
                    "height_cm": profile.height_cm,
                    "blood_type": profile.blood_type,
                    "gender": profile.gender,
                    "medical_conditions": profile.medical_conditions,
                    "allergies": profile.allergies,
                    "current_medications_notes": profile.current_medications_notes,
                    "emergency_notes": profile.emergency_notes,
                    "preferred_units": profile.preferred_units,
                    "timezone": profile.timezone,
                },
            }
        ],
    )
    grants = CareTeamGrant.objects.filter(patient=user).select_related("grantee").order_by("created_at", "id")
    yield ("care_team_grants", (_grant_given(g) for g in grants.iterator()))
    received = CareTeamGrant.objects.filter(grantee=user).select_related("patient").order_by("created_at", "id")
    yield ("care_team_grants_received", (_grant_received(g) for g in received.iterator()))
    events = AuditEvent.objects.filter(patient=user).order_by("created_at", "id")
    yield (
        "access_log",
        (
            {
                "id": str(e.pk),
                "actor": None
                if e.actor_account_id is None
                else {"id": str(e.actor_account_id), "name": e.actor_name, "email": e.actor_email},
                "action": e.action,
                "resource_type": e.resource_type,
                "resource_id": e.resource_id,
                "ip_address": e.ip_address,
                "created_at": e.created_at,
            }
            for e in events.iterator()
        ),
    )
    yield (
        "security_events",
        (
            {"event_type": s.event_type, "ip_address": s.ip_address, "created_at": s.created_at}
            for s in SecurityEvent.objects.filter(user=user).order_by("created_at").iterator()
        ),
    )


def _grant_terms(g: CareTeamGrant) -> dict:
    return {
        "id": str(g.pk),
        "role": g.role,
        "scopes": g.scopes,
        "status": g.status,
        "created_at": g.created_at,
        "accepted_at": g.accepted_at,
        "expires_at": g.expires_at,
        "revoked_at": g.revoked_at,
    }


def _grant_given(g: CareTeamGrant) -> dict:
    """A grant or invitation the person made: to whom (the address named, and the account once accepted)."""
    grantee = g.grantee
    person = None if grantee is None else {"id": str(grantee.pk), "email": grantee.email, "name": grantee.full_name}
    return {
        **_grant_terms(g),
        "email": g.invited_email,
        "grantee": person,
        "invitation_expires_at": g.invitation_expires_at,
        # Before grants had a role: what a doctor's grant was exported as.
        "doctor": person if g.role == GrantRole.DOCTOR else None,
    }


def _grant_received(g: CareTeamGrant) -> dict:
    """A grant the person holds as doctor or caregiver: whose data, which scopes. Nothing else of the patient."""
    return {**_grant_terms(g), "patient": {"id": str(g.patient_id), "name": g.patient.full_name}}


def _all_sections(user: User) -> Iterator[tuple[str, Iterable[dict]]]:
    for label in APPS_WITH_DATA:
        if not apps.is_installed(label):
            continue
        try:
            module = importlib.import_module(f"{label}.export")
        except ModuleNotFoundError as exc:
            if exc.name != f"{label}.export":
                raise
            continue
        yield from module.export_sections(user)


def export_stream(user: User) -> Iterator[bytes]:
    """The export document in pieces: `{"exported_at": …, "<section>": [rows…], …}`."""
    yield b'{"exported_at":' + _dumps(timezone.now())
    for name, rows in _all_sections(user):
        yield b"," + _dumps(name) + b":["
        first = True
        for row in rows:
            yield (b"" if first else b",") + _dumps(row)
            first = False
        yield b"]"
    yield b"}"
