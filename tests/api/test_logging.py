"""Structured logs: one JSON line per request with who asked and how it went, never a secret or a health value."""

import json
import logging
from unittest import mock

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from jeghealth_backend.api.logging import RequestIdFilter
from jeghealth_backend.celery import app as celery_app
from tests.accounts.factories import PASSWORD, registration

LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
PROFILE = "/api/v1/auth/profile/"
ME = "/api/v1/auth/current-user/"
RESET = "/api/v1/auth/password-reset/"

pytestmark = pytest.mark.django_db


def request_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "jeghealth.request"]


def rendered(records) -> str:
    """Every record as the deployment writes it (the JSON formatter of LOGGING), plus all its attributes."""
    formatter = JsonFormatter(**{k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"})
    request_id = RequestIdFilter()
    lines = []
    for record in records:
        request_id.filter(record)
        lines.append(formatter.format(record))
        lines.append(repr(record.__dict__))
    return "\n".join(lines)


class TestRequestLine:
    def test_one_line_per_request_with_its_facts(self, client_a, user_a, caplog):
        with caplog.at_level(logging.INFO):
            client_a.get(ME, HTTP_X_REQUEST_ID="log-test-1")

        (line,) = request_lines(caplog)
        assert line.request_id == "log-test-1"
        assert (line.method, line.path, line.status) == ("GET", ME, 200)
        assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
        assert line.user_id == str(user_a.pk)

    def test_an_anonymous_request_logs_no_user(self, anon, caplog):
        with caplog.at_level(logging.INFO):
            anon.get("/api/v1/health/")

        (line,) = request_lines(caplog)
        assert line.user_id is None

    def test_a_failed_request_logs_its_status(self, anon, caplog):
        with caplog.at_level(logging.INFO):
            anon.get(ME)

        (line,) = request_lines(caplog)
        assert line.status == 401

    def test_the_line_is_one_json_object(self, client_a, caplog):
        with caplog.at_level(logging.INFO):
            client_a.get(ME)

        formatted = rendered(request_lines(caplog)).splitlines()[0]
        parsed = json.loads(formatted)
        assert {"request_id", "method", "path", "status", "duration_ms", "user_id"} <= set(parsed)

    def test_the_query_string_is_not_logged(self, client_a, caplog):
        with caplog.at_level(logging.INFO):
            client_a.get(ME, {"email": "secret-query@example.org"})

        assert "secret-query" not in rendered(caplog.records)


class TestNoSecretsInLogs:
    def test_a_posted_password_and_token_appear_in_no_record(self, anon, user_a, caplog):
        sentinel_password = "Sentinel-Passw0rd-9c1e"
        with caplog.at_level(logging.DEBUG):
            anon.post(LOGIN, {"email": user_a.email, "password": sentinel_password})
            tokens = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}).json()["tokens"]
            anon.post(REFRESH, {"refresh": tokens["refresh"]})
            anon.post(REFRESH, {"refresh": tokens["refresh"]})
            anon.get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

        text = rendered(caplog.records)
        assert caplog.records
        for secret in (sentinel_password, PASSWORD, tokens["access"], tokens["refresh"]):
            assert secret not in text

    def test_health_values_appear_in_no_record(self, client_a, caplog):
        with caplog.at_level(logging.DEBUG):
            client_a.patch(PROFILE, {"allergies": "sentinel-allergy-5b2d", "medical_conditions": "sentinel-cond-1"})

        text = rendered(caplog.records)
        assert "sentinel-allergy-5b2d" not in text
        assert "sentinel-cond-1" not in text

    def test_a_password_reset_link_appears_in_no_record(
        self, anon, user_a, caplog, mailoutbox, django_capture_on_commit_callbacks
    ):
        with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
            anon.post(RESET, {"email": user_a.email})

        token = mailoutbox[0].body.split("token=")[1].split()[0]
        assert token not in rendered(caplog.records)


class TestTaskMessages:
    """The worker logs a task's arguments from its message (kwargsrepr); mail bodies hold single-use tokens."""

    @pytest.fixture
    def published(self, monkeypatch):
        monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
        with mock.patch.object(celery_app.amqp, "send_task_message") as send:
            yield send

    def _headers(self, published) -> dict:
        (call,) = published.call_args_list
        headers, _properties, _body, _sent_event = call.args[2]
        return headers

    def test_a_verification_mail_message_shows_no_body_token_or_address(
        self, anon, published, django_capture_on_commit_callbacks
    ):
        body = registration(email="private-address@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            anon.post("/api/v1/auth/register/", body)

        headers = self._headers(published)
        assert headers["task"] == "accounts.send_email"
        assert "verify_email" in headers["kwargsrepr"]
        for leak in ("token=", "Hello", "private-address", "<html"):
            assert leak not in headers["kwargsrepr"]
            assert leak not in headers["argsrepr"]

    def test_the_message_still_carries_the_mail(self, anon, published, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            anon.post("/api/v1/auth/register/", registration(email="private-address@example.org"))

        (call,) = published.call_args_list
        _headers, _properties, body, _sent_event = call.args[2]
        _args, kwargs, _embed = body
        assert kwargs["to"] == "private-address@example.org"
        assert "verify-email?token=" in kwargs["text"]
