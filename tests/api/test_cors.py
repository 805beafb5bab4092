"""CORS: listed origins only, never a wildcard."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/login/"
EVIL = "https://evil.example"


def preflight(client, origin: str):
    return client.options(URL, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")


class TestCors:
    def test_an_allowed_origin_is_answered_by_name(self, anon):
        origin = settings.CORS_ALLOWED_ORIGINS[0]

        r = preflight(anon, origin)

        assert r["Access-Control-Allow-Origin"] == origin
        assert "authorization" in r["Access-Control-Allow-Headers"]

    def test_an_allowed_origin_sees_the_request_id(self, anon):
        r = anon.get("/api/v1/health/", HTTP_ORIGIN=settings.CORS_ALLOWED_ORIGINS[0])

        assert r["Access-Control-Allow-Origin"] == settings.CORS_ALLOWED_ORIGINS[0]
        assert "X-Request-ID" in r["Access-Control-Expose-Headers"]

    def test_another_origin_gets_no_allow_origin_on_preflight(self, anon):
        assert "Access-Control-Allow-Origin" not in preflight(anon, EVIL)

    def test_another_origin_gets_no_allow_origin_on_a_request(self, anon):
        assert "Access-Control-Allow-Origin" not in anon.get("/api/v1/health/", HTTP_ORIGIN=EVIL)

    def test_no_wildcard_is_configured(self):
        assert not getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)
        assert "*" not in settings.CORS_ALLOWED_ORIGINS
