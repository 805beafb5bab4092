"""The entry points the health metrics and IoT apps call: anomaly alerts and device alerts."""

from __future__ import annotations

import pytest
from django.core import mail

from iot_devices.models import DeviceAlert, IoTDevice
from notifications.models import Notification
from notifications.services import anomaly_notify, device_alert_notify

from .factories import EmergencyContactFactory, reading

pytestmark = pytest.mark.django_db


class TestAnomalyNotify:
    def test_a_critical_reason_raises_a_critical_health_alert_without_values_in_the_text(self, user_a):
        flagged = reading(
            user_a,
            "blood_pressure",
            systolic=190,
            diastolic=100,
            is_anomaly=True,
            anomaly_reason="critical: systolic above 180 mmHg (hypertensive crisis); unusual systolic for this person",
        )

        notification = anomaly_notify(reading=flagged)

        assert (notification.category, notification.severity) == ("health_alert", "critical")
        assert notification.title == "Unusual blood pressure reading"
        assert "190" not in notification.body
        assert notification.data["reasons"] == [
            "critical: systolic above 180 mmHg (hypertensive crisis)",
            "unusual systolic for this person",
        ]

    def test_other_reasons_raise_a_warning(self, user_a):
        flagged = reading(user_a, "weight", 80, is_anomaly=True, anomaly_reason="warning: weight gain over 0.9 kg")

        assert anomaly_notify(reading=flagged).severity == "warning"

    def test_a_reading_is_alerted_once_and_never_e_mails_emergency_contacts(
        self, user_a, django_capture_on_commit_callbacks
    ):
        EmergencyContactFactory(user=user_a)
        flagged = reading(user_a, "heart_rate", 30, is_anomaly=True, anomaly_reason="critical: heart rate below 40")

        with django_capture_on_commit_callbacks(execute=True):
            anomaly_notify(reading=flagged)
            anomaly_notify(reading=flagged)

        assert Notification.objects.count() == 1
        assert [m.to for m in mail.outbox] == [[user_a.email]]


class TestDeviceAlertNotify:
    @pytest.fixture
    def alert(self, user_a):
        device = IoTDevice.objects.create(
            owner=user_a, name="Bedroom scale", device_type="smart_scale", serial_number="SC-1"
        )
        return DeviceAlert.objects.create(
            device=device, alert_type="low_battery", severity="warning", message="Battery at 12 %."
        )

    def test_it_notifies_the_owner_once_per_alert(self, alert, user_a):
        first = device_alert_notify(alert=alert)
        again = device_alert_notify(alert=alert)

        assert first.pk == again.pk
        assert (first.recipient, first.category, first.severity) == (user_a, "device_alert", "warning")
        assert (first.title, first.body) == ("Bedroom scale: low battery", "Battery at 12 %.")
        assert first.data == {
            "alert_id": str(alert.pk),
            "device_id": str(alert.device_id),
            "alert_type": "low_battery",
        }
