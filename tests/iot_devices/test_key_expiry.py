"""Device keys expire IOT_API_KEY_LIFETIME_DAYS after they were issued or rotated (checklist B9); the owner is
told IOT_API_KEY_WARN_DAYS before, once per key, and rotating gives the device another lifetime."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time

from health_metrics.models import HealthMetric
from iot_devices import services
from iot_devices.models import DeviceDataBatch
from iot_devices.tasks import warn_expiring_keys
from notifications.models import Notification

from .factories import Paired, heart_rates, pair_device

URL = "/api/v1/devices/"
CONFIG = f"{URL}me/config/"
BATCHES = f"{URL}me/batches/"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_lifetime_30_days")]


@pytest.fixture
def _lifetime_30_days():
    with override_settings(IOT_API_KEY_LIFETIME_DAYS=30, IOT_API_KEY_WARN_DAYS=7):
        yield


def days_later(days: float):
    return freeze_time(timezone.now() + timedelta(days=days))


class TestExpiry:
    def test_the_device_answer_says_when_the_key_expires(self, api, user_a, watch_a):
        r = api(user_a).get(f"{URL}{watch_a.device.id}/")
        assert r.status_code == 200
        expected = watch_a.device.key_rotated_at + timedelta(days=30)
        assert r.json()["api_key_expires_at"] == expected.isoformat().replace("+00:00", "Z")

    def test_a_key_works_until_it_expires(self, watch_a):
        with days_later(29.9):
            assert watch_a.client().get(CONFIG).status_code == 200

    @pytest.mark.parametrize("method, path", [("get", CONFIG), ("post", BATCHES), ("post", f"{URL}me/heartbeat/")])
    def test_an_expired_key_is_403_on_every_device_endpoint_and_changes_nothing(self, watch_a, method, path):
        body = {"batch_id": str(uuid.uuid4()), "readings": heart_rates(2)} if path == BATCHES else {}
        with days_later(30.1):
            r = getattr(watch_a.client(), method)(path, body, format="json")
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "api_key_expired"
        assert "rotates it" in r.json()["error"]["message"]
        assert not DeviceDataBatch.objects.exists()
        assert not HealthMetric.objects.exists()

    def test_rotating_gives_the_device_a_key_for_another_lifetime(self, api, user_a, watch_a):
        with days_later(30.1):
            r = api(user_a).post(f"{URL}{watch_a.device.id}/rotate-key/")
            assert r.status_code == 200
            rotated = Paired(watch_a.device, r.json()["api_key"], None)
            assert rotated.client().get(CONFIG).status_code == 200
        with days_later(59):
            assert rotated.client().get(CONFIG).status_code == 200
        with days_later(60.2):
            assert rotated.client().get(CONFIG).status_code == 403

    @override_settings(IOT_API_KEY_LIFETIME_DAYS=0)
    def test_with_a_lifetime_of_0_keys_never_expire(self, api, user_a, watch_a):
        with days_later(3650):
            assert watch_a.client().get(CONFIG).status_code == 200
        assert api(user_a).get(f"{URL}{watch_a.device.id}/").json()["api_key_expires_at"] is None

    def test_shortening_the_lifetime_applies_to_keys_already_issued(self, watch_a):
        with override_settings(IOT_API_KEY_LIFETIME_DAYS=1), days_later(2):
            assert watch_a.client().get(CONFIG).status_code == 403


class TestWarning:
    def warnings(self, user):
        return Notification.objects.filter(recipient=user, title__contains="key expires")

    def test_the_owner_is_told_once_a_week_before(self, user_a, watch_a):
        with days_later(22):
            assert warn_expiring_keys.apply().get() == 0
        with days_later(24):
            assert warn_expiring_keys.apply().get() == 1
            assert warn_expiring_keys.apply().get() == 1  # the next day's run finds it again…
        (warning,) = self.warnings(user_a)  # …and tells nobody twice
        assert warning.category == "device_alert" and warning.severity == "warning"
        assert watch_a.device.name in warning.title
        assert warning.data["device_id"] == str(watch_a.device.id)

    def test_a_rotated_key_is_warned_about_again_near_its_own_expiry(self, user_a, watch_a):
        with days_later(24):
            warn_expiring_keys.apply()
            services.device_rotate_key(device=watch_a.device)
        with days_later(54):
            assert warn_expiring_keys.apply().get() == 1
        assert self.warnings(user_a).count() == 2

    def test_deactivated_and_revoked_devices_and_other_keys_are_left_alone(self, user_a, watch_a):
        deactivated = pair_device(user_a)
        services.device_deactivate(device=deactivated.device)
        with days_later(10):
            pair_device(user_a)  # a key issued later is not in the window yet
        with days_later(24):
            assert warn_expiring_keys.apply().get() == 1
        assert self.warnings(user_a).get().data["device_id"] == str(watch_a.device.id)

    @override_settings(IOT_API_KEY_LIFETIME_DAYS=0)
    def test_nothing_is_sent_when_keys_never_expire(self, user_a, watch_a):
        with days_later(400):
            assert warn_expiring_keys.apply().get() == 0
        assert not self.warnings(user_a).exists()
