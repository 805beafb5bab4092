"""Device keys: hashed, found by prefix, rotated at once, never confused with a person's token."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import SecurityEvent
from iot_devices import services
from iot_devices.models import IoTDevice

URL = "/api/v1/devices/"
CONFIG = f"{URL}me/config/"

pytestmark = pytest.mark.django_db


class TestDeviceKey:
    def test_it_authenticates_with_the_authorization_header(self, watch_a):
        r = watch_a.client().get(CONFIG)
        assert r.status_code == 200
        assert r.json()["id"] == str(watch_a.device.id)
        assert r.json()["configuration"]["metric_types"]

    def test_it_authenticates_with_the_x_api_key_header(self, watch_a):
        assert watch_a.client(header="x-api-key").get(CONFIG).status_code == 200

    @pytest.mark.parametrize("key", ["nonsense", "jegd_000000000000_secret", "Api-Key", ""])
    def test_an_unknown_key_is_401(self, key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        r = client.get(CONFIG)
        assert r.status_code == 401
        assert r["WWW-Authenticate"] == "Api-Key"

    def test_a_right_prefix_with_a_wrong_secret_is_401(self, watch_a):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {watch_a.api_key[:-4]}AAAA")
        assert client.get(CONFIG).status_code == 401

    def test_no_credentials_is_401(self, anon):
        r = anon.get(CONFIG)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_the_stored_row_never_holds_the_key(self, watch_a):
        row = IoTDevice.objects.filter(pk=watch_a.device.pk).values().first()
        assert all(watch_a.api_key not in str(value) for value in row.values())
        secret = watch_a.api_key.split("_", 2)[2]
        assert all(secret not in str(value) for value in row.values())

    def test_two_devices_have_different_prefixes(self, watch_a, watch_b):
        assert watch_a.device.key_prefix != watch_b.device.key_prefix

    def test_last_used_is_written_at_most_once_a_minute(self, watch_a):
        start = timezone.now()
        with freeze_time(start):
            watch_a.client().get(CONFIG)
            first = watch_a.refresh().last_used_at
            with freeze_time(start + timedelta(seconds=30)):
                watch_a.client().get(CONFIG)
                assert watch_a.refresh().last_used_at == first
            with freeze_time(start + timedelta(seconds=61)):
                watch_a.client().get(CONFIG)
                assert watch_a.refresh().last_used_at == start + timedelta(seconds=61)

    def test_the_request_log_names_the_device_not_a_person(self, watch_a, caplog):
        with caplog.at_level(logging.INFO, logger="jeghealth.request"):
            watch_a.client().get(CONFIG)
        record = next(r for r in caplog.records if r.name == "jeghealth.request")
        assert record.device_id == str(watch_a.device.id)
        assert record.user_id is None


class TestTokenKeyConfusion:
    def test_a_persons_token_is_refused_on_a_device_endpoint(self, client_a, watch_a):
        r = client_a.get(CONFIG)
        assert r.status_code == 401
        r = client_a.post(f"{URL}me/heartbeat/", {"battery_level": 80})
        assert r.status_code == 401

    @pytest.mark.parametrize("header", ["authorization", "x-api-key"])
    def test_a_device_key_is_refused_on_a_persons_endpoint(self, watch_a, header):
        client = watch_a.client(header=header)
        assert client.get(URL).status_code == 401
        assert client.get(f"{URL}{watch_a.device.id}/").status_code == 401
        assert client.get("/api/v1/auth/current-user/").status_code == 401
        assert client.post(f"{URL}{watch_a.device.id}/rotate-key/").status_code == 401


class TestRotateKey:
    def rotate(self, client, device):
        return client.post(f"{URL}{device.id}/rotate-key/")

    def test_the_new_key_works_and_the_old_one_stops_at_once(self, client_a, watch_a):
        old = watch_a.client()
        assert old.get(CONFIG).status_code == 200
        r = self.rotate(client_a, watch_a.device)
        assert r.status_code == 200
        new_key = r.json()["api_key"]
        assert new_key != watch_a.api_key
        assert r.json()["verification_code"] is None  # already verified
        assert old.get(CONFIG).status_code == 401
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {new_key}")
        assert client.get(CONFIG).status_code == 200

    def test_a_rotation_is_recorded_as_a_security_event(self, client_a, user_a, watch_a):
        assert self.rotate(client_a, watch_a.device).status_code == 200
        event = SecurityEvent.objects.get(user=user_a, event_type="device_key_rotated")
        assert event.metadata == {"device_id": str(watch_a.device.id)}

    def test_an_unverified_device_gets_a_new_pairing_code(self, client_a, unverified_a):
        r = self.rotate(client_a, unverified_a.device)
        code = r.json()["verification_code"]
        assert code and len(code) == 8
        device = unverified_a.refresh()
        services.device_verify(device=device, code=code)
        assert unverified_a.refresh().is_verified

    def test_returns_404_for_another_persons_device(self, client_a, watch_b):
        before = watch_b.device.key_hash
        assert self.rotate(client_a, watch_b.device).status_code == 404
        assert watch_b.refresh().key_hash == before
        assert watch_b.client().get(CONFIG).status_code == 200

    def test_a_revoked_device_cannot_get_a_key_again(self, client_a, watch_a):
        services.device_revoke(device=watch_a.device)
        r = self.rotate(client_a, watch_a.device)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "conflict"

    def test_a_revoked_key_no_longer_identifies_the_device(self, watch_a):
        services.device_revoke(device=watch_a.device)
        assert watch_a.client().get(CONFIG).status_code == 401


class TestSchema:
    def test_device_endpoints_document_the_api_key_scheme(self, anon):
        r = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        schema = r.json()
        assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["type"] == "apiKey"
        upload = schema["paths"]["/api/v1/devices/me/batches/"]["post"]
        assert upload["security"] == [{"ApiKeyAuth": []}]
        readings = schema["components"]["schemas"]["BatchUploadInputRequest"]["properties"]["readings"]
        assert readings["maxItems"] == 5000
        owner_list = schema["paths"]["/api/v1/devices/"]["get"]
        assert {"ApiKeyAuth": []} not in owner_list["security"]
