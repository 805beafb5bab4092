"""Heartbeats, device alerts (raised once, resolved by the owner or by the device recovering), and the admin."""

from __future__ import annotations

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from freezegun import freeze_time

from iot_devices import ingestion, services
from iot_devices.models import DeviceAlert, IoTDevice
from iot_devices.tasks import process_batch
from notifications.models import Notification

from .factories import pair_device

HEARTBEAT = "/api/v1/devices/me/heartbeat/"
ALERTS = "/api/v1/devices/alerts/"

pytestmark = pytest.mark.django_db


class TestHeartbeat:
    def test_it_records_the_devices_state(self, watch_a):
        body = {"battery_level": 77, "firmware_version": "2.1.0", "signal_strength": -60}
        r = watch_a.client().post(HEARTBEAT, body)
        assert r.status_code == 200
        assert r.json()["battery_level"] == 77 and r.json()["status"] == "active"
        device = watch_a.refresh()
        assert (device.battery_level, device.firmware_version, device.signal_strength) == (77, "2.1.0", -60)
        assert device.last_seen_at is not None

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"battery_level": 101}, "battery_level"),
            ({"status": "revoked"}, "status"),
            ({"battery_level": "x"}, "battery_level"),
        ],
    )
    def test_invalid_fields_are_400(self, watch_a, body, field):
        r = watch_a.client().post(HEARTBEAT, body)
        assert r.status_code == 400
        assert field in r.json()["error"]["fields"]

    def test_a_low_battery_raises_one_alert(self, watch_a, django_capture_on_commit_callbacks):
        client = watch_a.client()
        with (
            mock.patch("iot_devices.services.alert_raised") as handed_over,
            django_capture_on_commit_callbacks(execute=True),
        ):
            client.post(HEARTBEAT, {"battery_level": 19})
            client.post(HEARTBEAT, {"battery_level": 15})
            client.post(HEARTBEAT, {"battery_level": 12})
        alert = DeviceAlert.objects.get(device=watch_a.device)
        assert (alert.alert_type, alert.severity, alert.is_resolved) == ("low_battery", "warning", False)
        handed_over.assert_called_once()
        assert handed_over.call_args.args[0].pk == alert.pk

    def test_a_low_battery_tells_the_owner_once(self, watch_a, django_capture_on_commit_callbacks):
        client = watch_a.client()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(HEARTBEAT, {"battery_level": 19})
            client.post(HEARTBEAT, {"battery_level": 12})
        sent = Notification.objects.filter(recipient=watch_a.device.owner, category="device_alert")
        assert sent.count() == 1
        # Told by the alert rule of a device running low: one episode, one notification.
        assert sent.get().data | {"episode_id": None} == {
            "kind": "opened",
            "episode_id": None,
            "rule": "device_low_battery",
            "metric_type": None,
            "severity": "warning",
            "device_id": str(watch_a.device.pk),
            "battery_level": 19,
        }

    def test_a_battery_at_20_percent_raises_nothing(self, watch_a):
        watch_a.client().post(HEARTBEAT, {"battery_level": 20})
        assert not DeviceAlert.objects.exists()

    def test_a_recharged_battery_resolves_the_alert(self, watch_a):
        client = watch_a.client()
        client.post(HEARTBEAT, {"battery_level": 10})
        client.post(HEARTBEAT, {"battery_level": 90})
        assert DeviceAlert.objects.get().is_resolved

    def test_a_reported_error_sets_the_status_and_raises_an_error_alert(self, watch_a):
        watch_a.client().post(HEARTBEAT, {"status": "error"})
        watch_a.client().post(HEARTBEAT, {"status": "error"})
        assert watch_a.refresh().status == "error"
        alert = DeviceAlert.objects.get()
        assert (alert.alert_type, alert.severity) == ("error", "critical")
        watch_a.client().post(HEARTBEAT, {"status": "active"})
        assert watch_a.refresh().status == "active"
        alert.refresh_from_db()
        assert alert.is_resolved


class TestOffline:
    def test_a_silent_device_gets_one_offline_alert(self, watch_a):
        start = timezone.now()
        with freeze_time(start):
            watch_a.client().post(HEARTBEAT, {"battery_level": 80})
        # A smartwatch samples every 5 minutes: offline after max(3 × 5 min, 1 h) = 1 h.
        with freeze_time(start + timedelta(minutes=59)):
            assert services.devices_check_offline() == 0
        with freeze_time(start + timedelta(minutes=61)):
            assert services.devices_check_offline() == 1
            assert services.devices_check_offline() == 0
        alert = DeviceAlert.objects.get()
        assert (alert.alert_type, alert.is_resolved) == ("offline", False)

    def test_the_interval_of_the_device_type_decides(self, user_a):
        scale = pair_device(user_a, device_type="smart_scale")  # daily: offline after 3 days
        start = timezone.now()
        with freeze_time(start):
            scale.client().post(HEARTBEAT, {})
        with freeze_time(start + timedelta(days=2)):
            assert services.devices_check_offline() == 0
        with freeze_time(start + timedelta(days=3, minutes=1)):
            assert services.devices_check_offline() == 1

    def test_it_resolves_itself_when_the_device_is_heard_from(self, watch_a):
        start = timezone.now() - timedelta(hours=3)
        with freeze_time(start):
            watch_a.client().post(HEARTBEAT, {})
        services.devices_check_offline()
        watch_a.client().post(HEARTBEAT, {})
        assert DeviceAlert.objects.get().is_resolved

    def test_an_alert_the_owner_resolved_is_not_raised_again_for_the_same_silence(self, client_a, watch_a):
        with freeze_time(timezone.now() - timedelta(hours=3)):
            watch_a.client().post(HEARTBEAT, {})
        services.devices_check_offline()
        client_a.post(f"{ALERTS}{DeviceAlert.objects.get().id}/resolve/")
        assert services.devices_check_offline() == 0
        assert DeviceAlert.objects.count() == 1

    def test_unverified_and_never_seen_devices_are_not_offline(self, user_a, unverified_a):
        pair_device(user_a)
        with freeze_time(timezone.now() - timedelta(days=2)):
            unverified_a.client().post(HEARTBEAT, {})
        assert services.devices_check_offline() == 0


class TestAlertsApi:
    def raise_alert(self, paired, alert_type="low_battery"):
        return services.alert_raise(device=paired.device, alert_type=alert_type, severity="warning", message="m")

    def test_it_lists_alerts_of_my_devices_only(self, client_a, watch_a, watch_b):
        mine = self.raise_alert(watch_a)
        self.raise_alert(watch_b)
        r = client_a.get(ALERTS)
        assert r.status_code == 200
        assert r.json()["count"] == 1
        item = r.json()["results"][0]
        assert set(item) == {
            "id",
            "device",
            "alert_type",
            "severity",
            "message",
            "created_at",
            "is_resolved",
            "resolved_at",
        }
        assert item["id"] == str(mine.id) and item["device"] == str(watch_a.device.id)

    def test_filtering_by_another_persons_device_shows_nothing(self, client_a, watch_a, watch_b):
        self.raise_alert(watch_b)
        assert client_a.get(ALERTS, {"device": str(watch_b.device.id)}).json()["count"] == 0
        assert client_a.get(ALERTS, {"is_resolved": "false"}).json()["count"] == 0

    def test_the_list_costs_a_fixed_number_of_queries(self, client_a, watch_a, django_assert_max_num_queries):
        for alert_type in ("offline", "low_battery", "error", "sync_failure"):
            self.raise_alert(watch_a, alert_type)
        with django_assert_max_num_queries(5):
            assert client_a.get(ALERTS).json()["count"] == 4

    def test_one_open_alert_per_device_and_type(self, watch_a):
        assert self.raise_alert(watch_a) is not None
        assert self.raise_alert(watch_a) is None
        assert DeviceAlert.objects.count() == 1

    def test_it_resolves_an_alert(self, client_a, watch_a):
        alert = self.raise_alert(watch_a)
        r = client_a.post(f"{ALERTS}{alert.id}/resolve/")
        assert r.status_code == 200
        assert r.json()["is_resolved"] is True and r.json()["resolved_at"]
        alert.refresh_from_db()
        assert alert.is_resolved
        # Resolved, the condition may raise a new one.
        assert self.raise_alert(watch_a) is not None

    def test_returns_404_for_another_persons_alert(self, client_a, watch_b):
        alert = self.raise_alert(watch_b)
        assert client_a.post(f"{ALERTS}{alert.id}/resolve/").status_code == 404
        alert.refresh_from_db()
        assert not alert.is_resolved

    def test_it_requires_a_token(self, anon, watch_a):
        assert anon.get(ALERTS).status_code == 401
        assert watch_a.client().get(ALERTS).status_code == 401


class TestAdmin:
    def test_the_revoke_action_cuts_the_device_off(self, admin_user, watch_a, client):
        client.force_login(admin_user)
        r = client.post(
            "/admin/iot_devices/iotdevice/",
            {"action": "revoke", "_selected_action": [str(watch_a.device.pk)]},
        )
        assert r.status_code == 302
        device = IoTDevice.objects.get(pk=watch_a.device.pk)
        assert device.status == "revoked" and device.key_prefix is None
        assert watch_a.client().get("/api/v1/devices/me/config/").status_code == 401

    def test_batch_pages_render_read_only(self, admin_user, watch_a, client):
        with mock.patch.object(process_batch, "apply_async"):
            batch, _ = ingestion.batch_receive(device=watch_a.device, device_batch_id=uuid.uuid4(), readings=[{}])
        client.force_login(admin_user)
        assert client.get("/admin/iot_devices/devicedatabatch/").status_code == 200
        page = client.get(f"/admin/iot_devices/devicedatabatch/{batch.pk}/change/")
        assert page.status_code == 200
        assert b"Save" not in page.content
        assert client.get("/admin/iot_devices/devicealert/").status_code == 200
        assert client.get(f"/admin/iot_devices/iotdevice/{watch_a.device.pk}/change/").status_code == 200
