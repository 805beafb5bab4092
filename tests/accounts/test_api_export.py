"""`GET auth/export/`: everything the service holds about me, streamed, without secrets or other people's data."""

from __future__ import annotations

import json

import pytest

from tests.accounts.factories import UserFactory
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/export/"


def export_of(client) -> dict:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.streaming, "a long history must stream, not sit in memory"
    assert response["Cache-Control"] == "no-store"
    return json.loads(b"".join(response.streaming_content))


def test_export_holds_every_kind_of_data(client_a, user_a, history):
    body = export_of(client_a)
    text = json.dumps(body)
    assert body["account"][0]["email"] == user_a.email
    for section in (
        "health_metrics",
        "health_metric_targets",
        "devices",
        "device_batches",
        "device_alerts",
        "medication_regimens",
        "appointments",
        "notifications",
        "emergency_contacts",
        "care_team_grants",
        "access_log",
    ):
        assert body.get(section), f"section {section} is missing or empty"
    for key in ("reading", "target", "device", "batch", "regimen", "appointment", "notification", "contact", "grant"):
        assert history[key] in text, f"{key} {history[key]} is not in the export"
    assert {r["notes"] for r in body["health_metrics"]} >= {"after the run"}, "encrypted notes are exported in clear"


def test_export_holds_no_secret(client_a, user_a, history):
    text = json.dumps(export_of(client_a))
    assert history["watch_key"] not in text
    for secret_field in ("key_hash", "verification_code_hash", "password", "token_hash"):
        assert secret_field not in text
    assert user_a.password not in text


def test_export_holds_nothing_of_another_person(client_a, history):
    other = UserFactory()
    foreign = HealthMetricFactory(user=other)
    assert str(foreign.pk) not in json.dumps(export_of(client_a))
    assert other.email not in json.dumps(export_of(client_a))


def test_export_needs_a_token(anon):
    assert anon.get(URL).status_code == 401
