"""Verification: the device proves the pairing code its owner was shown; wrong codes are limited."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.settings import api_settings

from iot_devices.models import IoTDevice
from iot_devices.services import VERIFICATION_MAX_ATTEMPTS

URL = "/api/v1/devices/me/verify/"

pytestmark = pytest.mark.django_db


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


class TestVerify:
    def test_the_right_code_activates_the_device(self, unverified_a):
        r = unverified_a.client().post(URL, {"verification_code": unverified_a.verification_code})
        assert r.status_code == 200
        assert r.json() == {"id": str(unverified_a.device.id), "status": "active", "is_verified": True}
        device = unverified_a.refresh()
        assert device.is_verified and device.status == "active" and device.verified_at is not None
        assert device.verification_code_hash == ""

    def test_a_wrong_code_is_400_and_counted(self, unverified_a):
        r = unverified_a.client().post(URL, {"verification_code": wrong(unverified_a.verification_code)})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "verification_failed"
        assert "verification_code" in r.json()["error"]["fields"]
        device = unverified_a.refresh()
        assert device.verification_attempts == 1
        assert not device.is_verified

    def test_a_missing_code_is_a_validation_error(self, unverified_a):
        r = unverified_a.client().post(URL, {})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"

    def test_the_code_is_burned_after_too_many_wrong_tries(self, unverified_a):
        client = unverified_a.client()
        for _ in range(VERIFICATION_MAX_ATTEMPTS - 1):
            assert client.post(URL, {"verification_code": wrong(unverified_a.verification_code)}).status_code == 400
        r = client.post(URL, {"verification_code": wrong(unverified_a.verification_code)})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "verification_locked"
        r = client.post(URL, {"verification_code": unverified_a.verification_code})
        assert r.status_code == 403
        assert not unverified_a.refresh().is_verified

    def test_rotate_key_gives_a_burned_device_a_new_code(self, client_a, unverified_a):
        for _ in range(VERIFICATION_MAX_ATTEMPTS):
            unverified_a.client().post(URL, {"verification_code": wrong(unverified_a.verification_code)})
        fresh = client_a.post(f"/api/v1/devices/{unverified_a.device.id}/rotate-key/").json()
        unverified_a.api_key = fresh["api_key"]
        r = unverified_a.client().post(URL, {"verification_code": fresh["verification_code"]})
        assert r.status_code == 200
        assert unverified_a.refresh().is_verified

    def test_verifying_again_changes_nothing(self, watch_a):
        r = watch_a.client().post(URL, {"verification_code": "12345678"})
        assert r.status_code == 200
        assert r.json()["status"] == "active"

    def test_wrong_codes_are_throttled_per_device(self, unverified_a, watch_b, monkeypatch):
        rates = {**api_settings.DEFAULT_THROTTLE_RATES, "device_verify": "2/min"}
        monkeypatch.setattr(api_settings, "DEFAULT_THROTTLE_RATES", rates)
        client = unverified_a.client()
        for _ in range(2):
            client.post(URL, {"verification_code": "00000000"})
        r = client.post(URL, {"verification_code": "00000000"})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "throttled"
        assert int(r["Retry-After"]) >= 1
        assert unverified_a.refresh().verification_attempts == 2
        # Another device has its own budget.
        assert watch_b.client().post(URL, {"verification_code": "00000000"}).status_code == 200

    def test_a_persons_token_cannot_verify(self, client_a, unverified_a):
        r = client_a.post(URL, {"verification_code": unverified_a.verification_code})
        assert r.status_code == 401
        assert not unverified_a.refresh().is_verified


class TestUnverifiedDevice:
    def test_it_cannot_upload(self, unverified_a):
        body = {"batch_id": str(uuid.uuid4()), "readings": [{"metric_type": "heart_rate"}]}
        r = unverified_a.client().post("/api/v1/devices/me/batches/", body, format="json")
        assert r.status_code == 403
        assert not IoTDevice.objects.get(pk=unverified_a.device.pk).batches.exists()

    def test_it_can_read_its_configuration_and_send_heartbeats(self, unverified_a):
        client = unverified_a.client()
        assert client.get("/api/v1/devices/me/config/").status_code == 200
        assert client.post("/api/v1/devices/me/heartbeat/", {"battery_level": 90}).status_code == 200
