"""OWASP API8 Security Misconfiguration (2023); what the modules share: the package docstring."""

from __future__ import annotations

import json
import subprocess
import sys
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from tests.hardening.owasp.common import LOGIN, ME

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


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
