"""Sentry (jeghealth_backend.observability): off without SENTRY_DSN; with it, the Django and Celery integrations
report errors and no report carries what a person sent (body, headers, cookies, query) or local variables."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.transport import Transport

from jeghealth_backend.observability import scrub, sentry_init
from tests.api.urls_errors import SECRET

pytestmark = pytest.mark.django_db

DSN = "https://public@sentry.example.invalid/1"
READING = "systolic_value-187-sentinel"
TOKEN = "Bearer eyJ-sentinel-token"


class Captured(Transport):
    """Keeps every envelope instead of sending it."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [item.payload.json for envelope in self.envelopes for item in envelope.items if item.type == "event"]


@pytest.fixture
def sentry():
    transport = Captured()
    sentry_init(dsn=DSN, environment="test", transport=transport)
    yield transport
    client = sentry_sdk.get_client()
    client.close()
    sentry_sdk.get_global_scope().set_client(None)


class TestOffWithoutADsn:
    def test_the_settings_start_no_client(self):
        assert not sentry_sdk.get_client().is_active()

    def test_an_empty_dsn_starts_nothing(self):
        assert sentry_init(dsn="", environment="test") is False
        assert not sentry_sdk.get_client().is_active()


class TestOnWithADsn:
    def test_the_django_and_celery_integrations_are_on_and_pii_is_off(self, sentry):
        client = sentry_sdk.get_client()

        assert client.get_integration(DjangoIntegration) is not None
        assert client.get_integration(CeleryIntegration) is not None
        assert client.options["send_default_pii"] is False
        assert client.options["include_local_variables"] is False

    @pytest.mark.urls("tests.api.urls_errors")
    def test_an_error_is_reported_without_the_body_headers_cookies_or_local_variables(self, anon, sentry):
        anon.cookies["sessionid"] = "cookie-sentinel"

        r = anon.post(
            "/api/v1/test/explode/?note=query-sentinel",
            {"systolic_value": READING},
            format="json",
            HTTP_AUTHORIZATION=TOKEN,
        )
        sentry_sdk.flush()

        assert r.status_code == 500
        events = sentry.events()
        [error] = [event for event in events if "exception" in event]
        assert error["exception"]["values"][-1]["value"] == SECRET
        frames = [f for e in error["exception"]["values"] for f in e["stacktrace"]["frames"]]
        assert frames and not any("vars" in frame for frame in frames)
        assert error["transaction"] == "/api/v1/test/explode/"  # the route, from the Django integration
        for event in events:
            assert set(event.get("request", {})) <= {"method", "url"}
            text = json.dumps(event)
            for sentinel in (READING, "eyJ-sentinel-token", "cookie-sentinel", "query-sentinel"):
                assert sentinel not in text, sentinel


class TestScrub:
    def test_task_arguments_user_details_and_breadcrumb_data_are_dropped(self):
        event = {
            "user": {"id": "7", "email": "p@example.org", "ip_address": "10.0.0.1"},
            "extra": {"celery-job": {"task_name": "accounts.send_email", "args": [], "kwargs": {"text": "token"}}},
            "breadcrumbs": {"values": [{"category": "query", "message": "SELECT", "data": {"params": [187]}}]},
        }

        scrubbed = scrub(event)

        assert scrubbed["user"] == {"id": "7"}
        assert scrubbed["extra"]["celery-job"] == {"task_name": "accounts.send_email", "args": "[Filtered]",
                                                   "kwargs": "[Filtered]"}  # fmt: skip
        assert scrubbed["breadcrumbs"]["values"] == [{"category": "query", "message": "SELECT"}]
