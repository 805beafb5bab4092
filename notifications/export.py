"""The notifications part of a person's export (`GET auth/export/`), oldest first.

Push token values are not exported: a token is a credential for pushing to a phone. Deliveries are exported as
their outcome per channel (no provider receipts, which name token ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Prefetch

from . import selectors
from .models import EmergencyContact, Notification, NotificationDelivery, PushToken
from .serializers import PreferencesSerializer


def export_sections(user) -> Iterator[tuple[str, Iterable[dict]]]:
    deliveries = Prefetch("deliveries", queryset=NotificationDelivery.objects.order_by("created_at", "id"))
    notifications = (
        Notification.objects.filter(recipient=user).prefetch_related(deliveries).order_by("created_at", "id")
    )
    yield (
        "notifications",
        (
            {
                "id": str(n.pk),
                "category": n.category,
                "severity": n.severity,
                "title": n.title,
                "body": n.body,
                "data": n.data,
                "is_read": n.is_read,
                "read_at": n.read_at,
                "created_at": n.created_at,
                "deliveries": [
                    {
                        "channel": d.channel,
                        "emergency_contact": str(d.contact_id) if d.contact_id else None,
                        "status": d.status,
                        "sent_at": d.sent_at,
                    }
                    for d in n.deliveries.all()
                ],
            }
            for n in notifications.iterator(chunk_size=500)
        ),
    )
    yield ("notification_preferences", [dict(PreferencesSerializer(selectors.preferences_get(user=user)).data)])
    yield (
        "push_tokens",
        (
            {
                "id": str(t.pk),
                "platform": t.platform,
                "is_active": t.is_active,
                "last_used_at": t.last_used_at,
                "created_at": t.created_at,
            }
            for t in PushToken.objects.filter(user=user).order_by("created_at", "id").iterator()
        ),
    )
    yield (
        "emergency_contacts",
        (
            {
                "id": str(c.pk),
                "name": c.name,
                "relationship": c.relationship,
                "phone_number": c.phone_number,
                "email": c.email,
                "notify_on_critical": c.notify_on_critical,
                "created_at": c.created_at,
            }
            for c in EmergencyContact.objects.filter(user=user).order_by("created_at", "id").iterator()
        ),
    )
