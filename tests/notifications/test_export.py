"""The notifications sections of `GET auth/export/`."""

from __future__ import annotations

import json

import pytest

from notifications.services import notify
from tests.alerts.factories import AlertThresholdFactory

from .factories import EmergencyContactFactory, PushTokenFactory

pytestmark = pytest.mark.django_db


def test_the_export_holds_my_notification_data_and_no_push_token(client_a, user_a, user_b):
    notification = notify(user=user_a, category="system", title="Hello", body="Body")
    notify(user=user_b, category="system", title="Not mine", body="")
    contact = EmergencyContactFactory(user=user_a)
    threshold = AlertThresholdFactory(user=user_a)
    token = PushTokenFactory(user=user_a)

    r = client_a.get("/api/v1/auth/export/")

    assert r.status_code == 200
    raw = b"".join(r.streaming_content) if r.streaming else r.content
    document = json.loads(raw)
    assert [n["id"] for n in document["notifications"]] == [str(notification.pk)]
    assert {d["channel"] for d in document["notifications"][0]["deliveries"]} == {"in_app", "email", "push"}
    assert document["notification_preferences"][0]["quiet_hours_start"] is None
    assert [c["id"] for c in document["emergency_contacts"]] == [str(contact.pk)]
    assert [t["id"] for t in document["alert_thresholds"]] == [str(threshold.pk)]
    assert [t["id"] for t in document["push_tokens"]] == [str(token.pk)]
    assert token.token not in raw.decode()
