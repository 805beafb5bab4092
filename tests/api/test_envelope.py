"""Every error under /api/ answers `{"error": {"code", "message", "fields"?}}`, with DEBUG on or off."""

import logging
from unittest import mock

import pytest
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.api.urls_errors import SECRET

pytestmark = pytest.mark.django_db


def assert_envelope(response, code: str) -> dict:
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "fields"}
    return body["error"]


class TestNotFound:
    @pytest.mark.parametrize("debug", [False, True])
    def test_unknown_route_answers_404_envelope(self, anon, debug):
        with override_settings(DEBUG=debug):
            r = anon.get("/api/v1/no-such-thing/")

        assert r.status_code == 404
        assert_envelope(r, "not_found")

    @pytest.mark.parametrize("debug", [False, True])
    def test_unknown_route_outside_the_version_answers_404_envelope(self, anon, debug):
        with override_settings(DEBUG=debug):
            r = anon.post("/api/nothing-here", {"a": 1})

        assert r.status_code == 404
        assert_envelope(r, "not_found")

    @pytest.mark.parametrize("debug", [False, True])
    def test_a_write_without_the_trailing_slash_answers_404_envelope(self, anon, debug):
        with override_settings(DEBUG=debug):
            r = anon.post("/api/v1/auth/login", {"email": "a@example.org", "password": "x"})

        assert r.status_code == 404
        assert_envelope(r, "not_found")

    def test_a_read_without_the_trailing_slash_is_redirected(self, anon):
        r = anon.get("/api/v1/health")

        assert r.status_code == 301
        assert r["Location"] == "/api/v1/health/"

    def test_missing_object_answers_404_envelope(self, api, admin_user):
        r = api(admin_user).post("/api/v1/auth/users/00000000-0000-0000-0000-000000000000/roles/", {"role": "user"})

        assert r.status_code == 404
        assert_envelope(r, "not_found")

    def test_pages_outside_the_api_keep_djangos_answer(self, anon):
        r = anon.get("/no-such-page/")

        assert r.status_code == 404
        assert not r["Content-Type"].startswith("application/json")


class TestMethodNotAllowed:
    def test_answers_405_envelope_with_allow(self, anon):
        r = anon.get("/api/v1/auth/login/")

        assert r.status_code == 405
        assert_envelope(r, "method_not_allowed")
        assert r["Allow"] == "POST, OPTIONS"

    @pytest.mark.parametrize("method", ["put", "trace"])
    def test_undocumented_methods_on_a_read_write_route_answer_405(self, client_a, method):
        r = getattr(client_a, method)("/api/v1/auth/profile/")

        assert r.status_code == 405
        assert_envelope(r, "method_not_allowed")
        assert "PATCH" in r["Allow"]


class TestAuthentication:
    def test_no_credentials_answer_401_not_authenticated(self, anon):
        r = anon.get("/api/v1/auth/current-user/")

        assert r.status_code == 401
        assert_envelope(r, "not_authenticated")
        assert "WWW-Authenticate" in r

    def test_bad_token_answers_401_authentication_failed(self, anon):
        anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

        r = anon.get("/api/v1/auth/current-user/")

        assert r.status_code == 401
        error = assert_envelope(r, "authentication_failed")
        assert "messages" not in error

    def test_malformed_authorization_header_answers_401(self, anon):
        anon.credentials(HTTP_AUTHORIZATION="Bearer two parts")

        r = anon.get("/api/v1/auth/current-user/")

        assert r.status_code == 401
        assert_envelope(r, "authentication_failed")


class TestPermission:
    def test_forbidden_answers_403_permission_denied(self, client_a, user_b):
        r = client_a.post(f"/api/v1/auth/users/{user_b.pk}/roles/", {"role": "doctor"})

        assert r.status_code == 403
        assert_envelope(r, "permission_denied")


class TestValidation:
    def test_invalid_fields_answer_400_with_fields(self, anon):
        r = anon.post("/api/v1/auth/login/", {"email": "nope"})

        assert r.status_code == 400
        error = assert_envelope(r, "validation_error")
        assert set(error["fields"]) == {"email", "password"}
        assert all(isinstance(messages, list) for messages in error["fields"].values())

    def test_a_body_that_is_not_json_answers_400(self, anon):
        r = anon.post("/api/v1/auth/login/", data="{not json", content_type="application/json")

        assert r.status_code == 400
        assert_envelope(r, "parse_error")

    def test_a_json_body_that_is_not_an_object_answers_400(self, anon):
        r = anon.post("/api/v1/auth/login/", data="[1, 2]", content_type="application/json")

        assert r.status_code == 400
        assert_envelope(r, "validation_error")


class TestThrottled:
    def test_answers_429_envelope_with_retry_after(self, anon):
        with mock.patch.object(
            SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1/min", "user": "1/min", "auth": "1/min"}
        ):
            anon.post("/api/v1/auth/token/refresh/", {"refresh": "x"})
            r = anon.post("/api/v1/auth/token/refresh/", {"refresh": "x"})

        assert r.status_code == 429
        assert_envelope(r, "throttled")
        assert int(r["Retry-After"]) >= 1


@pytest.mark.urls("tests.api.urls_errors")
class TestServerError:
    @pytest.fixture
    def client(self):
        # Django's test client re-raises view exceptions by default; the mobile app sees the answer instead.
        return APIClient(raise_request_exception=False)

    @pytest.mark.parametrize("debug", [False, True])
    @pytest.mark.parametrize("path", ["/api/v1/test/explode/", "/api/v1/test/explode-django/"])
    def test_unhandled_exception_answers_500_envelope(self, client, path, debug):
        with override_settings(DEBUG=debug):
            r = client.get(path)

        assert r.status_code == 500
        assert_envelope(r, "server_error")

    @pytest.mark.parametrize("debug", [False, True])
    @pytest.mark.parametrize("path", ["/api/v1/test/explode/", "/api/v1/test/explode-django/"])
    def test_the_answer_leaks_no_traceback_or_sql(self, client, path, debug):
        with override_settings(DEBUG=debug):
            body = client.get(path).content.decode()

        for leak in ("Traceback", "RuntimeError", "sentinel-7f3a", "SELECT", ".py", "/work/"):
            assert leak not in body

    @pytest.mark.parametrize("path", ["/api/v1/test/explode/", "/api/v1/test/explode-django/"])
    def test_the_traceback_is_logged(self, client, path, caplog):
        with caplog.at_level(logging.ERROR):
            client.get(path)

        logged = [record for record in caplog.records if record.exc_info and record.levelno >= logging.ERROR]
        assert logged
        assert any(SECRET in str(record.exc_info[1]) for record in logged)

    def test_the_answer_carries_the_request_id(self, client):
        r = client.get("/api/v1/test/explode/", HTTP_X_REQUEST_ID="trace-500")

        assert r["X-Request-ID"] == "trace-500"
