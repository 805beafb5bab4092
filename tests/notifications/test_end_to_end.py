"""From a device's batch to the people who must know: the owner's push and the emergency contact's e-mail."""

import uuid

import pytest

from notifications.models import Notification
from tests.iot_devices.factories import pair_device, reading

from .factories import AlertThresholdFactory, EmergencyContactFactory, PushTokenFactory

pytestmark = pytest.mark.django_db


def test_a_critical_reading_from_a_device_pushes_to_the_owner_and_mails_the_contact(
    user_a, expo, mailoutbox, django_capture_on_commit_callbacks
):
    AlertThresholdFactory(user=user_a, metric_type="heart_rate", min_value=40, max_value=120, severity="critical")
    contact = EmergencyContactFactory(user=user_a, notify_on_critical=True)
    token = PushTokenFactory(user=user_a)
    watch = pair_device(user_a)
    batch = {
        "batch_id": str(uuid.uuid4()),
        "readings": [reading("heart_rate", 72, minutes_ago=3), reading("heart_rate", 165, minutes_ago=2)],
    }

    with django_capture_on_commit_callbacks(execute=True):
        r = watch.client().post("/api/v1/devices/me/batches/", batch, format="json")
    assert r.status_code == 202, r.content

    alerts = Notification.objects.filter(recipient=user_a, category="health_alert")
    assert alerts.count() >= 1 and alerts.filter(severity="critical").exists()
    assert [m["to"] for m in expo.messages] and token.token in {m["to"] for m in expo.messages}
    assert any(contact.email in message.to for message in mailoutbox)


def test_a_reading_inside_the_thresholds_tells_nobody(user_a, expo, mailoutbox, django_capture_on_commit_callbacks):
    AlertThresholdFactory(user=user_a, metric_type="heart_rate", min_value=40, max_value=120, severity="critical")
    EmergencyContactFactory(user=user_a, notify_on_critical=True)
    PushTokenFactory(user=user_a)
    watch = pair_device(user_a)
    batch = {"batch_id": str(uuid.uuid4()), "readings": [reading("heart_rate", 72, minutes_ago=2)]}

    with django_capture_on_commit_callbacks(execute=True):
        assert watch.client().post("/api/v1/devices/me/batches/", batch, format="json").status_code == 202

    assert not Notification.objects.filter(recipient=user_a, category="health_alert").exists()
    assert expo.messages == [] and mailoutbox == []
