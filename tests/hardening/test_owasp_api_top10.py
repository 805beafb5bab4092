"""OWASP API Security Top 10 (2023) against this API: one class per item (SECURITY-CHECKLIST section 1).

Routes come from the published OpenAPI schema, so a new route is tested (or makes a test fail until it has a
policy) without anyone remembering it. Every answer any test here receives is grepped by `leak_guard` for stored
secrets (password hashes, device key hashes, pairing-code hashes, calendar token digests) and for what a test
forbids its caller to see (another person's e-mail address and ids).
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import jwt
import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import AuditEvent
from accounts.services import tokens_for_user
from health_metrics.models import HealthMetric
from iot_devices.models import DeviceDataBatch, IoTDevice
from iot_devices.tasks import process_batch
from notifications import expo
from tests.accounts.factories import PASSWORD, AdminFactory, DoctorFactory
from tests.iot_devices.factories import heart_rates, pair_device, reading
from tests.notifications.fakes import FakeExpo, expo_handler

from .conftest import build_world
from .routes import (
    fill_strings,
    json_request_schema,
    list_routes,
    object_routes,
    operations,
    published_schema,
    readback_path,
    request_fields_with_format,
    scheme,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]

OPENAPI = published_schema()
ME = "/api/v1/auth/current-user/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
BATCHES = "/api/v1/devices/me/batches/"
SOON = (datetime.now(UTC) + timedelta(days=40)).replace(hour=9, minute=0, second=0, microsecond=0).isoformat()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def call(client: APIClient, method: str, path: str, body: dict | None = None, **extra):
    if method in ("GET", "DELETE", "HEAD", "OPTIONS"):
        return client.generic(method, path, **extra)
    return client.generic(method, path, json.dumps(body or {}), content_type="application/json", **extra)


# --- API1 ---------------------------------------------------------------------------------------------------
# Every route that addresses one object, by what protects it. OWNED: a person's own object; anyone else's id is
# indistinguishable from a missing one (404) for read, change and delete alike.
OWNED_BODIES: dict[str, dict[str, dict]] = {
    "/api/v1/alerts/{id}/": {},
    "/api/v1/alerts/{id}/acknowledge/": {},
    "/api/v1/appointments/{id}/": {"PATCH": {"reason": "taken over"}},
    "/api/v1/appointments/{id}/cancel/": {"POST": {"reason": "taken over"}},
    "/api/v1/appointments/{id}/complete/": {},
    "/api/v1/appointments/{id}/confirm/": {},
    "/api/v1/appointments/{id}/no-show/": {},
    "/api/v1/appointments/{id}/reschedule/": {"POST": {"start_time": SOON}},
    "/api/v1/auth/care-team/{id}/": {},
    "/api/v1/auth/sessions/{id}/": {},
    "/api/v1/devices/{device_pk}/batches/": {},
    "/api/v1/devices/{device_pk}/batches/{id}/": {},
    "/api/v1/devices/{id}/": {"PATCH": {"name": "taken over"}},
    "/api/v1/devices/{id}/deactivate/": {},
    "/api/v1/devices/{id}/rotate-key/": {},
    "/api/v1/devices/alerts/{id}/resolve/": {},
    "/api/v1/health-metrics/{id}/": {"PATCH": {"notes": "taken over"}},
    "/api/v1/health-metrics/targets/{id}/": {"PATCH": {"target_value": 5}},
    "/api/v1/health-metrics/targets/{id}/progress/": {},
    "/api/v1/health-metrics/imports/{id}/": {},
    "/api/v1/medications/{id}/": {"PATCH": {"dosage": 20}},
    "/api/v1/medications/{id}/log/": {"POST": {"scheduled_for": "2025-03-02T08:00:00+00:00", "status": "taken"}},
    "/api/v1/notifications/{id}/": {},
    "/api/v1/notifications/{id}/read/": {},
    "/api/v1/notifications/alert-thresholds/{id}/": {
        "PUT": {"metric_type": "heart_rate", "min_value": 30, "max_value": 200, "severity": "warning"},
        "PATCH": {"max_value": 200},
    },
    "/api/v1/notifications/emergency-contacts/{id}/": {
        "PUT": {"name": "Mallory", "relationship": "none", "phone_number": "+33 6 00 00 00 00", "email": "m@evil.test"},
        "PATCH": {"email": "m@evil.test"},
    },
    "/api/v1/reports/{id}/": {},
    "/api/v1/reports/{id}/download/": {},
}
SHARED = {
    "/api/v1/appointments/providers/{id}/availability/": "the provider directory: any signed-in person books",
    "/api/v1/medications/catalog/{id}/": "reference data loaded from fixtures, the same for everyone",
    "/api/v1/medications/categories/{id}/": "reference data loaded from fixtures, the same for everyone",
}
CAPABILITY = {
    "/api/v1/appointments/calendar/{token}.ics": "a secret URL for calendar apps: the token is the credential",
}
FUNCTION = {"/api/v1/auth/users/{user_id}/roles/": "an admin function on any account: API5"}
OWNED_CASES = [(path, method) for path, methods in object_routes(OPENAPI).items() if path in OWNED_BODIES
               for method in methods]  # fmt: skip


class TestAPI1BrokenObjectLevelAuthorization:
    def test_every_object_route_has_a_policy(self):
        policies = {*OWNED_BODIES, *SHARED, *CAPABILITY, *FUNCTION}

        assert set(object_routes(OPENAPI)) - policies == set(), "an object route without a BOLA case"
        assert policies - set(object_routes(OPENAPI)) == set(), "a BOLA case for a route that no longer exists"

    @pytest.mark.parametrize(("path", "method"), OWNED_CASES, ids=[f"{m} {p}" for p, m in OWNED_CASES])
    def test_another_persons_object_answers_404_and_stays_as_it_was(
        self, path, method, world_a, api, user_b, leak_guard
    ):
        owner, intruder = api(world_a.owner), api(user_b)
        readback = readback_path(OPENAPI, path).format(**world_a.ids[path])
        before = owner.get(readback).json()
        leak_guard.forbid(world_a.owner.email, str(world_a.owner.pk), to=user_b)

        r = call(intruder, method, world_a.path(path), OWNED_BODIES[path].get(method))

        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), r.content
        assert owner.get(readback).json() == before
        assert not AuditEvent.objects.filter(actor=user_b).exists()

    @pytest.mark.parametrize("path", list_routes(OPENAPI))
    def test_no_list_shows_another_persons_rows_whatever_the_filters(self, path, world_a, api, user_b, leak_guard):
        owned_ids = {v for p, ids in world_a.ids.items() if p in OWNED_BODIES for v in ids.values()}
        leak_guard.forbid(world_a.owner.email, str(world_a.owner.pk), *owned_ids, to=user_b)
        intruder = api(user_b)
        url = path.format(**world_a.ids.get(path, {}))
        device = world_a.ids["/api/v1/devices/{id}/"]["id"]

        for query in ({}, {"patient": world_a.owner.pk}, {"user": world_a.owner.pk}, {"device": device}):
            r = intruder.get(url, {**query, "limit": 200})

            assert r.status_code in (200, 400, 404), (query, r.content)

    def test_shared_reference_data_is_readable_by_every_person(self, world_a, api, user_b):
        intruder = api(user_b)

        for path in SHARED:
            query = {"date": SOON[:10]} if "availability" in path else {}
            assert intruder.get(world_a.path(path), query).status_code == 200, path

    def test_the_calendar_feed_answers_only_its_own_secret_token(self, world_a, anon):
        feed = world_a.path("/api/v1/appointments/calendar/{token}.ics")

        assert anon.get(feed).status_code == 200
        assert anon.get(feed.replace(feed[-10:-4], "AAAAAA")).status_code == 404

    def test_a_device_writes_only_to_its_owners_readings(self, user_a, user_b, django_capture_on_commit_callbacks):
        watch = pair_device(user_a)
        with django_capture_on_commit_callbacks(execute=True):
            r = watch.client().post(
                BATCHES,
                {"batch_id": str(uuid.uuid4()), "readings": [reading(user=str(user_b.pk), user_id=str(user_b.pk))]},
                format="json",
            )

        assert r.status_code == 202
        assert HealthMetric.objects.filter(user=user_a).count() == 1
        assert not HealthMetric.objects.filter(user=user_b).exists()


# --- API2 ---------------------------------------------------------------------------------------------------
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


# --- API3 ---------------------------------------------------------------------------------------------------
class TestAPI3BrokenObjectPropertyLevelAuthorization:
    def test_current_user_patch_ignores_every_privileged_field(self, user_a, user_b, api):
        hostile = {
            "email": "taken@evil.test",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "roles": ["admin", "doctor"],
            "is_email_verified": False,
            "id": str(user_b.pk),
            "date_joined": "2000-01-01T00:00:00Z",
            "password": "md5$x$y",
        }
        r = api(user_a).patch(ME, {**hostile, "first_name": "Ada"}, format="json")
        user_a.refresh_from_db()

        assert r.status_code == 200
        assert (user_a.first_name, user_a.email, user_a.is_staff, user_a.is_superuser) == ("Ada", user_a.email, 0, 0)
        assert user_a.is_active and user_a.check_password(PASSWORD)
        assert r.json()["roles"] == ["user"]
        assert api(user_a).post(f"/api/v1/auth/users/{user_b.pk}/roles/", {"role": "doctor"}).status_code == 403

    def test_a_device_cannot_be_verified_activated_or_given_away_by_a_patch(self, user_a, user_b, api):
        watch = pair_device(user_a, verified=False)
        hostile = {"status": "active", "is_verified": True, "owner": str(user_b.pk), "api_key": "jegd_x_y", "id": "1"}

        r = api(user_a).patch(f"/api/v1/devices/{watch.device.pk}/", {**hostile, "name": "Mine"}, format="json")
        device = watch.refresh()

        assert r.status_code == 200
        assert (device.name, device.status, device.is_verified, device.owner_id) == (
            "Mine",
            "pending_verification",
            False,
            user_a.pk,
        )

    def test_a_reading_cannot_be_moved_to_another_person_or_disguised_as_a_devices(self, world_a, user_b, api):
        path = world_a.path("/api/v1/health-metrics/{id}/")
        hostile = {"user": str(user_b.pk), "source": "device", "device": str(uuid.uuid4()), "is_anomaly": True}

        r = api(world_a.owner).patch(path, {**hostile, "notes": "ok"}, format="json")

        assert r.status_code == 200
        assert (r.json()["source"], r.json()["device"], r.json()["is_anomaly"]) == ("manual", None, False)
        assert HealthMetric.objects.get(pk=r.json()["id"]).user_id == world_a.owner.pk

    def test_a_patient_cannot_confirm_or_move_an_appointment_by_a_patch(self, world_a, api):
        path = world_a.path("/api/v1/appointments/{id}/")
        before = api(world_a.owner).get(path).json()
        hostile = {"status": "completed", "patient": str(uuid.uuid4()), "start_time": SOON, "provider": None}

        r = api(world_a.owner).patch(path, {**hostile, "reason": "Checkup"}, format="json")

        # Refused by name (400), not silently dropped: each of these has its own action.
        assert r.status_code == 400
        assert set(r.json()["error"]["fields"]) == {"status", "patient", "start_time", "provider"}
        assert api(world_a.owner).get(path).json() == before

    def test_no_answer_shows_secrets_or_another_persons_address(
        self, world_a, user_b, api, leak_guard, django_capture_on_commit_callbacks
    ):
        build_world(user_b, django_capture_on_commit_callbacks)
        leak_guard.forbid(user_b.email, str(user_b.pk), to=world_a.owner)
        owner = api(world_a.owner)

        for path, method, operation in operations(OPENAPI):
            if method == "GET" and scheme(operation) == "jwtAuth":
                query = {"format": "csv"} if path.endswith("/export/") else {}
                assert owner.get(path.format(**world_a.ids.get(path, {})), query).status_code < 500, path
        assert len(leak_guard.bodies) > 40


# --- API4 ---------------------------------------------------------------------------------------------------
TIGHT = {"auth": "3/min", "anon": "3/min", "user": "3/min", "device": "3/min", "device_verify": "3/min"}


class TestAPI4UnrestrictedResourceConsumption:
    @pytest.mark.parametrize("path", list_routes(OPENAPI))
    def test_no_page_holds_more_than_200_whatever_the_limit_asked(self, path, world_a, api):
        r = api(world_a.owner).get(path.format(**world_a.ids.get(path, {})), {"limit": 100000})

        assert r.status_code == 200, r.content
        assert {"count", "next", "previous", "results"} <= set(r.json())
        assert len(r.json()["results"]) <= 200

    def test_a_list_longer_than_200_is_cut_at_200_with_a_next_page(self, user_a, api):
        start = datetime(2025, 1, 1, tzinfo=UTC)
        HealthMetric.objects.bulk_create(
            HealthMetric(user=user_a, metric_type="heart_rate", value=70, unit="bpm", entered_value=70,
                         entered_unit="bpm", recorded_at=start + timedelta(minutes=i), source="manual")
            for i in range(230)
        )  # fmt: skip

        r = api(user_a).get("/api/v1/health-metrics/", {"limit": 100000})

        assert (r.json()["count"], len(r.json()["results"])) == (230, 200)
        assert "offset=200" in r.json()["next"]

    def test_a_device_batch_over_5000_readings_is_refused_stored_nowhere_and_not_enqueued(self, user_a):
        watch = pair_device(user_a)
        with mock.patch.object(process_batch, "apply_async") as enqueue:
            r = watch.client().post(
                BATCHES, {"batch_id": str(uuid.uuid4()), "readings": heart_rates(5001)}, format="json"
            )

        assert r.status_code == 400
        assert "readings" in r.json()["error"]["fields"]
        assert not DeviceDataBatch.objects.exists()
        enqueue.assert_not_called()

    def test_a_bulk_upload_over_1000_readings_is_refused_and_stores_nothing(self, user_a, api):
        metrics = [{"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-01-01T00:00:00Z"}] * 1001

        r = api(user_a).post("/api/v1/health-metrics/bulk/", {"metrics": metrics}, format="json")

        assert r.status_code == 400
        assert not HealthMetric.objects.exists()

    @pytest.mark.parametrize("path", ["/api/v1/health-metrics/bulk/", "/api/v1/auth/register/", BATCHES])
    def test_a_body_over_10_mib_answers_413_before_it_is_read(self, path, user_a, api):
        body = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'

        r = api(user_a).generic("POST", path, body, content_type="application/json")

        assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")

    def test_a_device_batch_over_its_own_cap_answers_413(self, user_a):
        body = b'{"batch_id": "x", "readings": "' + b"a" * settings.IOT_BATCH_MAX_BODY_BYTES + b'"}'

        r = pair_device(user_a).client().generic("POST", BATCHES, body, content_type="application/json")

        assert r.status_code == 413

    def test_a_person_over_the_user_rate_gets_429_with_retry_after(self, user_a, api):
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", TIGHT):
            statuses = [api(user_a).get("/api/v1/notifications/unread-count/").status_code for _ in range(4)]
            r = api(user_a).get("/api/v1/notifications/unread-count/")

        assert statuses[:3] == [200, 200, 200]
        assert r.status_code == 429
        assert 1 <= int(r["Retry-After"]) <= 60

    def test_a_device_over_its_rate_gets_429_with_retry_after(self, user_a, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": TIGHT}
        watch = pair_device(user_a)

        answers = [watch.client().post("/api/v1/devices/me/heartbeat/", {}) for _ in range(4)]

        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[3]["Retry-After"]) <= 60

    def test_logins_from_one_address_over_the_auth_rate_get_429(self, anon, user_a):
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", TIGHT):
            for i in range(3):
                anon.post(LOGIN, {"email": f"nobody{i}@example.org", "password": "x"})
            r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 429
        assert int(r["Retry-After"]) >= 1


# --- API5 ---------------------------------------------------------------------------------------------------
DOCTOR_ONLY = [
    ("POST", "/api/v1/appointments/{id}/confirm/"),
    ("POST", "/api/v1/appointments/{id}/complete/"),
    ("POST", "/api/v1/appointments/{id}/no-show/"),
    ("GET", "/api/v1/appointments/providers/me/"),
    ("PATCH", "/api/v1/appointments/providers/me/"),
    ("POST", "/api/v1/medications/prescriptions/"),
]
ADMIN_ONLY = [("POST", "/api/v1/auth/users/{user_id}/roles/"), ("DELETE", "/api/v1/auth/users/{user_id}/roles/")]


class TestAPI5BrokenFunctionLevelAuthorization:
    @pytest.mark.parametrize(("method", "path"), DOCTOR_ONLY, ids=[f"{m} {p}" for m, p in DOCTOR_ONLY])
    def test_a_patient_on_a_doctors_action_gets_403(self, method, path, world_a, api):
        before = api(world_a.owner).get(world_a.path("/api/v1/appointments/{id}/")).json()["status"]
        body = {"patient": str(world_a.owner.pk), "name": "Lisinopril", "dosage": 10, "dosage_unit": "mg"}

        r = call(api(world_a.owner), method, path.format(**world_a.ids.get(path, {})), body)

        assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")
        assert api(world_a.owner).get(world_a.path("/api/v1/appointments/{id}/")).json()["status"] == before

    @pytest.mark.parametrize("role", ["patient", "doctor"])
    @pytest.mark.parametrize(("method", "path"), ADMIN_ONLY, ids=["grant", "remove"])
    def test_a_patient_or_doctor_on_an_admin_action_gets_403_and_no_role_changes(
        self, role, method, path, user_a, user_b, api
    ):
        caller = user_a if role == "patient" else DoctorFactory()
        target = caller if method == "POST" else user_b

        r = call(api(caller), method, path.format(user_id=target.pk), {"role": "admin" if method == "POST" else "user"})

        assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")
        assert not target.is_superuser and "admin" not in api(target).get(ME).json()["roles"]

    def test_an_admin_may_grant_a_role(self, user_a, api):
        r = api(AdminFactory()).post(f"/api/v1/auth/users/{user_a.pk}/roles/", {"role": "doctor"}, format="json")

        assert r.status_code == 200
        assert "doctor" in api(user_a).get(ME).json()["roles"]

    def test_a_doctor_with_a_read_grant_cannot_change_the_patients_data(self, world_a, api):
        path = world_a.path("/api/v1/health-metrics/{id}/") + f"?patient={world_a.owner.pk}"

        assert api(world_a.doctor).get(path).status_code == 200
        assert api(world_a.doctor).patch(path, {"notes": "changed"}, format="json").status_code == 403
        assert api(world_a.doctor).delete(path).status_code == 403

    def test_every_person_operation_answers_401_without_credentials(self, anon):
        for path, method, operation in operations(OPENAPI):
            if scheme(operation) in ("jwtAuth", "ApiKeyAuth"):
                r = call(anon, method, re.sub(r"\{\w+\}", str(uuid.uuid4()), path))
                assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated"), f"{method} {path}"


# --- API6 ---------------------------------------------------------------------------------------------------
class TestAPI6UnrestrictedAccessToSensitiveBusinessFlows:
    def test_a_pairing_code_is_burned_after_five_wrong_tries_even_for_the_right_one(self, user_a):
        watch = pair_device(user_a, verified=False)
        wrong = "00000000" if watch.verification_code != "00000000" else "11111111"

        statuses = [
            watch.client().post("/api/v1/devices/me/verify/", {"verification_code": wrong}).status_code
            for _ in range(5)
        ]
        r = watch.client().post("/api/v1/devices/me/verify/", {"verification_code": watch.verification_code})

        assert statuses == [400, 400, 400, 400, 403]
        assert r.status_code == 403
        assert not watch.refresh().is_verified

    def test_pairing_code_attempts_are_throttled_per_device(self, user_a, settings):
        rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "device_verify": "3/min"}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
        watch = pair_device(user_a, verified=False)

        statuses = [
            watch.client().post("/api/v1/devices/me/verify/", {"verification_code": "x"}).status_code for _ in range(4)
        ]

        assert statuses[3] == 429

    def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(
        self, anon, user_a, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            known = anon.post("/api/v1/auth/password-reset/", {"email": user_a.email})
            unknown = anon.post("/api/v1/auth/password-reset/", {"email": "nobody@example.org"})

        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert [m.to for m in mail.outbox] == [[user_a.email]]

    def test_password_reset_takes_about_as_long_for_a_known_and_an_unknown_address(self, anon, user_a):
        def median_ms(email: str) -> float:
            times = []
            for i in range(10):
                started = time.perf_counter()
                anon.post("/api/v1/auth/password-reset/", {"email": email}, REMOTE_ADDR=f"198.51.100.{i}")
                times.append((time.perf_counter() - started) * 1000)
            return statistics.median(times)

        median_ms(user_a.email)  # warm-up

        assert abs(median_ms(user_a.email) - median_ms("nobody@example.org")) < 50

    def test_password_resets_for_one_address_are_throttled_whatever_the_client_ip(
        self, anon, user_a, django_capture_on_commit_callbacks
    ):
        with (
            mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", TIGHT),
            django_capture_on_commit_callbacks(execute=True),
        ):
            statuses = [
                anon.post(
                    "/api/v1/auth/password-reset/", {"email": user_a.email}, REMOTE_ADDR=f"203.0.113.{i}"
                ).status_code
                for i in range(5)
            ]

        assert statuses == [200, 200, 200, 429, 429]
        assert len(mail.outbox) == 3

    def test_an_account_is_locked_after_five_failed_logins_even_for_the_right_password(self, anon, user_a):
        for i in range(5):
            anon.post(LOGIN, {"email": user_a.email, "password": f"wrong-{i}"}, REMOTE_ADDR=f"192.0.2.{i}")

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.99")

        assert (r.status_code, r.json()["error"]["code"]) == (429, "account_locked")


# --- API7 ---------------------------------------------------------------------------------------------------
# Request fields declared `format: uri` that a reviewer judged safe (none: nothing here fetches a URL it is given).
REVIEWED_URI_FIELDS: dict[str, str] = {}
PROBES = ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:6379/", "file:///etc/passwd"]


class TestAPI7ServerSideRequestForgery:
    def test_no_request_field_takes_a_uri_outside_the_reviewed_list(self):
        assert set(request_fields_with_format(OPENAPI, "uri")) - set(REVIEWED_URI_FIELDS) == set()

    @pytest.mark.parametrize("probe", PROBES)
    def test_urls_in_every_string_field_open_no_connection(
        self, probe, world_a, api, outbound_guard, django_capture_on_commit_callbacks
    ):
        person = api(world_a.owner)

        for path, method, operation in operations(OPENAPI):
            client = {"jwtAuth": person, "ApiKeyAuth": world_a.watch.client(), None: APIClient()}[scheme(operation)]
            url = path.format(**world_a.ids.get(path, {}))
            query = {p["name"]: probe for p in operation.get("parameters", []) if p["in"] == "query"}
            schema = json_request_schema(OPENAPI, operation)
            body = fill_strings(OPENAPI, schema, probe) if schema else None
            with django_capture_on_commit_callbacks(execute=True):
                if body is None:
                    r = client.generic(method, url, QUERY_STRING="&".join(f"{k}={v}" for k, v in query.items()))
                else:
                    r = client.generic(method, url, json.dumps(body), content_type="application/json")

            assert r.status_code < 500, f"{method} {path}: {r.content[:200]}"
        assert outbound_guard.attempts == []


# --- API8 ---------------------------------------------------------------------------------------------------
def production(code: str, **extra_env: str) -> subprocess.CompletedProcess:
    """CODE run by a fresh Python under the production environment a deployment sets, and nothing else."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "prod-" + Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "api.jeghealth.example",
        "SECURE_SSL_REDIRECT": "1",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "sqlite:////nonexistent/never-opened.sqlite3",
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


PROBE_HEADERS = """
import json, django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="api.jeghealth.example")
secure = c.get("/api/v1/no-such-route/", secure=True)
plain = c.get("/api/v1/no-such-route/")
print(json.dumps({"secure": dict(secure.headers), "status": secure.status_code, "body": secure.content.decode(),
                  "plain": plain.status_code, "location": plain.get("Location", "")}))
"""


class TestAPI8SecurityMisconfiguration:
    def test_check_deploy_passes_under_the_production_environment(self):
        code = "import django, sys; from django.core.management import call_command; django.setup(); "
        code += "call_command('check', deploy=True, fail_level='WARNING')"

        result = production(code)

        assert result.returncode == 0, result.stdout + result.stderr

    def test_production_answers_carry_the_security_headers_and_redirect_plain_http(self):
        result = production(PROBE_HEADERS)
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        headers = {k.lower(): v for k, v in seen["secure"].items()}

        assert headers["strict-transport-security"].startswith("max-age=31536000; includeSubDomains")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
        assert (seen["status"], json.loads(seen["body"])["error"]["code"]) == (404, "not_found")
        assert (seen["plain"], seen["location"]) == (301, "https://api.jeghealth.example/api/v1/no-such-route/")

    def test_cors_answers_listed_origins_only_and_never_a_wildcard(self, anon):
        listed = anon.options(LOGIN, HTTP_ORIGIN=settings.CORS_ALLOWED_ORIGINS[0])
        evil = anon.options(LOGIN, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

        assert listed["Access-Control-Allow-Origin"] == settings.CORS_ALLOWED_ORIGINS[0]
        assert "Access-Control-Allow-Origin" not in evil
        assert not getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)

    def test_no_route_answers_html_even_when_a_browser_asks(self, client_a):
        for path in ("/api/v1/health-metrics/", "/api/v1/no-such-route/", ME):
            r = client_a.get(path, HTTP_ACCEPT="text/html")
            assert not r["Content-Type"].startswith("text/html"), path

    @pytest.mark.parametrize("debug", [False, True])
    def test_an_unexpected_error_answers_the_envelope_without_a_traceback(self, debug, client_a, settings):
        settings.DEBUG = debug
        boom = RuntimeError('SELECT "password" FROM accounts_user -- /work/main/accounts/selectors.py')
        with mock.patch("notifications.views.selectors.notification_unread_count", side_effect=boom):
            r = client_a.get("/api/v1/notifications/unread-count/")

        assert (r.status_code, r.json()["error"]["code"]) == (500, "server_error")
        for needle in (b"Traceback", b"SELECT", b"selectors.py", b"RuntimeError"):
            assert needle not in r.content


# --- API9 ---------------------------------------------------------------------------------------------------
# /api/ routes that are deliberately not operations of the schema.
UNDOCUMENTED = {
    "/api/schema/": "the OpenAPI document itself",
    "/api/docs/": "Swagger UI over that document",
    "/api/redoc/": "ReDoc over that document",
}


def api_routes(resolver=None, prefix: str = "/") -> set[str]:
    """Every URL under /api/ the resolver serves, as an OpenAPI path template."""
    import re

    from django.contrib.admindocs.views import simplify_regex

    resolver = resolver or get_resolver()
    found: set[str] = set()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found |= api_routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            path = re.sub(r"\\(.)", r"\1", simplify_regex(pattern))
            if path.startswith("/api/") and "<format>" not in path:
                found.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path).replace("{pk}", "{id}"))
    return found


class TestAPI9ImproperInventoryManagement:
    def test_every_served_api_route_is_in_the_schema(self):
        assert api_routes() - set(OPENAPI["paths"]) - set(UNDOCUMENTED) == set()

    def test_every_schema_path_is_served(self):
        assert set(OPENAPI["paths"]) - api_routes() == set()

    def test_only_one_api_version_is_served(self):
        versions = {path.split("/")[2] for path in api_routes() if path.count("/") > 3}

        assert versions == {"v1"}


# --- API10 --------------------------------------------------------------------------------------------------
class _Trickle(BaseHTTPRequestHandler):
    """An upstream that answers 200 and then sends its body one byte at a time, slowly, forever."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            return

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    """`upstream(handler)` serves HANDLER on 127.0.0.1 for the test and answers its URL."""
    servers = []

    def start(handler) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/--/api/v2/push/send"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


MESSAGE = [{"to": "ExponentPushToken[abc]", "title": "t", "body": "b"}]


class TestAPI10UnsafeConsumptionOfAPIs:
    @pytest.mark.parametrize(
        "answer",
        [
            b"<html>502</html>",
            b"\xff\xfe\x00garbage",
            b"[1, 2",
            b'{"data": {"a": 1}}',
            b'{"data": [[[[[]]]]]}',
            b"null",
        ],
        ids=["html", "not-utf8", "truncated", "wrong-shape", "nested", "null"],
    )
    def test_a_malformed_answer_is_a_transient_error(self, answer, upstream, settings):
        fake = FakeExpo()
        fake.script = [fake.raw(answer)]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        with pytest.raises(expo.ExpoTransientError):
            expo.send_push(MESSAGE)

    def test_a_huge_answer_is_read_only_up_to_the_cap(self, upstream, settings):
        fake = FakeExpo()
        fake.script = [fake.raw(b'{"data": [' + b'{"status": "ok", "id": "x"},' * 200_000 + b"]}")]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        with pytest.raises(expo.ExpoTransientError, match="larger than expected"):
            expo.send_push(MESSAGE)

    def test_a_redirect_is_not_followed_anywhere(self, upstream, settings):
        elsewhere = FakeExpo()
        target = upstream(expo_handler(elsewhere))
        fake = FakeExpo()
        fake.script = [fake.status(302, b"", {"Location": target})]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        with pytest.raises(expo.ExpoTransientError, match="HTTP 302"):
            expo.send_push(MESSAGE)

        assert (len(fake.requests), elsewhere.requests) == (1, [])

    def test_a_ticket_quoting_the_push_token_keeps_only_the_error_code(self, upstream, settings):
        fake = FakeExpo()
        fake.script = [fake.not_registered(MESSAGE[0]["to"])]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        [ticket] = expo.send_push(MESSAGE)

        assert (ticket.ok, ticket.error) == (False, "DeviceNotRegistered")
        assert MESSAGE[0]["to"] not in repr(ticket)

    def test_an_answer_that_trickles_in_is_abandoned_within_the_timeout(self, upstream, settings):
        settings.EXPO_PUSH_URL = upstream(_Trickle)
        settings.EXPO_PUSH_TIMEOUT = 0.5
        started = time.monotonic()

        with pytest.raises(expo.ExpoTransientError):
            expo.send_push(MESSAGE)

        assert time.monotonic() - started < 3 * settings.EXPO_PUSH_TIMEOUT

    def test_an_unreachable_upstream_is_a_transient_error(self, settings):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings.EXPO_PUSH_URL = f"http://127.0.0.1:{port}/--/api/v2/push/send"

        with pytest.raises(expo.ExpoTransientError, match="unreachable"):
            expo.send_push(MESSAGE)


def test_the_leak_guard_sees_a_stored_secret_in_an_answer(user_a, api, leak_guard):
    """The guard of this module is itself tested: a device key hash in a body is reported."""
    watch = pair_device(user_a)
    api(user_a).get(f"/api/v1/devices/{watch.device.pk}/")
    stored = IoTDevice.objects.get(pk=watch.device.pk).key_hash

    leak_guard.record(None, "GET /probe/", f'{{"key_hash": "{stored}"}}'.encode())

    assert leak_guard.leaks() == [f"GET /probe/: {stored[:24]}…"]
    leak_guard.bodies.pop()
