"""OWASP API2 Broken Authentication (2023); what the modules share: the package docstring."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from tests.accounts.factories import PASSWORD
from tests.hardening.owasp.common import BATCHES, ME, OPENAPI, REFRESH, bearer, call
from tests.hardening.routes import (
    operations,
    scheme,
)
from tests.iot_devices.factories import pair_device, reading

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


def _claims(user) -> dict:
    return jwt.decode(tokens_for_user(user)["access"], options={"verify_signature": False})


FORGERIES = {
    "alg-none": lambda a, b: jwt.encode(_claims(a), key=None, algorithm="none"),
    "another-key": lambda a, b: jwt.encode(_claims(a), key="not-the-signing-key-" * 3, algorithm="HS256"),
    "tampered-user-id": lambda a, b: ".".join(
        [
            tokens_for_user(a)["access"].split(".")[0],
            jwt.encode({**_claims(a), "user_id": str(b.pk)}, key="x" * 32, algorithm="HS256").split(".")[1],
            tokens_for_user(a)["access"].split(".")[2],
        ]
    ),
    "expired": lambda a, b: jwt.encode(
        {**_claims(a), "exp": int(time.time()) - 1}, key=settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"
    ),
    "refresh-as-access": lambda a, b: tokens_for_user(a)["refresh"],
    "hs512-confusion": lambda a, b: jwt.encode(_claims(a), key=settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512"),
}


class TestAPI2BrokenAuthentication:
    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the forger's HS512, not ours
    @pytest.mark.parametrize("forgery", list(FORGERIES))
    @pytest.mark.parametrize("path", [ME, "/api/v1/health-metrics/", "/api/v1/auth/export/"])
    def test_a_forged_or_misused_token_answers_401(self, forgery, path, user_a, user_b):
        r = bearer(FORGERIES[forgery](user_a, user_b)).get(path)

        assert r.status_code == 401
        assert r.json()["error"]["code"] in ("authentication_failed", "not_authenticated")

    def test_a_token_in_the_query_string_is_ignored(self, anon, user_a):
        assert anon.get(ME, {"token": tokens_for_user(user_a)["access"]}).status_code == 401

    def test_after_logout_the_refresh_token_answers_401_and_the_access_token_dies_with_its_lifetime(self, user_a):
        tokens = tokens_for_user(user_a)
        client = bearer(tokens["access"])

        assert client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 205
        assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
        with freeze_time(timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1)):
            assert client.get(ME).status_code == 401

    def test_after_a_password_change_every_earlier_token_answers_401(self, user_a):
        tokens = tokens_for_user(user_a)
        body = {"old_password": PASSWORD, "new_password": "An0ther-long-passphrase", "new_password_confirm": ""}
        body["new_password_confirm"] = body["new_password"]

        r = bearer(tokens["access"]).post("/api/v1/auth/change-password/", body, format="json")

        assert r.status_code == 200
        assert bearer(tokens["access"]).get(ME).status_code == 401
        assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
        assert bearer(r.json()["tokens"]["access"]).get(ME).status_code == 200

    def test_after_deactivation_the_access_and_refresh_tokens_answer_401(self, user_a):
        tokens = tokens_for_user(user_a)
        user_a.is_active = False
        user_a.save(update_fields=["is_active"])

        assert bearer(tokens["access"]).get(ME).status_code == 401
        assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401

    def test_after_rotation_the_old_device_key_answers_401_and_the_new_one_works(self, user_a, api):
        watch = pair_device(user_a)

        r = api(user_a).post(f"/api/v1/devices/{watch.device.pk}/rotate-key/")

        assert watch.client().get("/api/v1/devices/me/config/").status_code == 401
        fresh = APIClient()
        fresh.credentials(HTTP_AUTHORIZATION=f"Api-Key {r.json()['api_key']}")
        assert fresh.get("/api/v1/devices/me/config/").status_code == 200

    def test_a_deactivated_devices_key_answers_403(self, user_a, api):
        watch = pair_device(user_a)
        api(user_a).post(f"/api/v1/devices/{watch.device.pk}/deactivate/")

        assert watch.client().post(BATCHES, {"batch_id": str(uuid.uuid4()), "readings": [reading()]}).status_code == 403

    def test_a_person_token_opens_no_device_endpoint_and_a_device_key_no_person_endpoint(self, user_a, api):
        watch, person = pair_device(user_a), api(user_a)

        for path, method, operation in operations(OPENAPI):
            if scheme(operation) == "ApiKeyAuth":
                assert call(person, method, path).status_code == 401, path
            elif scheme(operation) == "jwtAuth" and "{" not in path:
                assert call(watch.client(), method, path).status_code == 401, path
