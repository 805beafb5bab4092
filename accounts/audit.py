"""Writes of the audit trail: data access by others (AuditEvent) and security events (SecurityEvent).

Both are append-only and carry where the request came from. Nothing here stores request bodies, tokens or
health values: only who, what kind of thing, which id, when and from where.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .choices import AuditAction
from .models import AuditEvent, SecurityEvent, User

logger = logging.getLogger(__name__)

ACTION_BY_METHOD = {
    "GET": AuditAction.READ,
    "HEAD": AuditAction.READ,
    "POST": AuditAction.CREATE,
    "PUT": AuditAction.UPDATE,
    "PATCH": AuditAction.UPDATE,
    "DELETE": AuditAction.DELETE,
}


def request_origin(request) -> dict[str, str | None]:
    if request is None:
        return {"ip_address": None, "user_agent": "", "request_id": ""}
    meta = getattr(request, "META", {})
    return {
        "ip_address": meta.get("REMOTE_ADDR") or None,
        "user_agent": (meta.get("HTTP_USER_AGENT") or "")[:512],
        "request_id": getattr(request, "request_id", "") or "",
    }


def audit_record(
    *,
    actor: User,
    patient: User,
    action: str,
    resource_type: str,
    resource_ids: Iterable[str] = ("",),
    request=None,
) -> None:
    """Record that ACTOR (not the patient) did ACTION on the patient's RESOURCE_TYPE rows. No-op for oneself."""
    if actor is None or patient is None or actor.pk == patient.pk:
        return
    origin = request_origin(request)
    # Who acted, as they are now: the row keeps it after the actor's account is erased.
    snapshot = AuditEvent.actor_snapshot(actor)
    rows = [
        AuditEvent(
            actor=actor,
            **snapshot,
            patient=patient,
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id or "")[:64],
            ip_address=origin["ip_address"],
            user_agent=origin["user_agent"],
            request_id=origin["request_id"][:128],
        )
        for resource_id in resource_ids
    ]
    AuditEvent.objects.bulk_create(rows)


def audit_record_each(*, actor: User, patients: Iterable[User], action: str, resource_type: str, request=None) -> None:
    """One audit row per patient of PATIENTS (a list that shows several patients), in one INSERT."""
    origin = request_origin(request)
    snapshot = AuditEvent.actor_snapshot(actor)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor,
                **snapshot,
                patient=patient,
                action=action,
                resource_type=resource_type,
                resource_id=str(patient.pk),
                ip_address=origin["ip_address"],
                user_agent=origin["user_agent"],
                request_id=origin["request_id"][:128],
            )
            for patient in patients
            if patient.pk != actor.pk
        ]
    )


def security_event_record(
    *,
    event_type: str,
    user: User | None = None,
    identifier: str = "",
    request=None,
    metadata: dict | None = None,
) -> None:
    origin = request_origin(request)
    SecurityEvent.objects.create(
        user=user,
        event_type=event_type,
        identifier=identifier[:254],
        ip_address=origin["ip_address"],
        user_agent=origin["user_agent"],
        metadata=metadata or {},
    )
    logger.info("security_event", extra={"event": event_type, "user_id": str(user.pk) if user else None})
