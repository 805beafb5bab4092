"""`GET auth/export/`: everything the service holds about me, streamed, without secrets or other people's data."""

from __future__ import annotations

import json

import pytest

from accounts.models import CareTeamGrant
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


def test_export_holds_the_grants_and_invitations_given(client_a, doctor):
    client_a.post("/api/v1/auth/care-team/", {"doctor_email": doctor.email, "scopes": ["alerts"]}, format="json")
    client_a.post(
        "/api/v1/auth/care-team/",
        {"role": "caregiver", "email": "carer@example.org", "scopes": ["health_metrics"]},
        format="json",
    )

    rows = {row["role"]: row for row in export_of(client_a)["care_team_grants"]}

    assert rows["doctor"]["status"] == "active" and rows["doctor"]["grantee"]["id"] == str(doctor.pk)
    assert rows["doctor"]["doctor"]["id"] == str(doctor.pk)
    invitation = rows["caregiver"]
    assert (invitation["status"], invitation["email"], invitation["grantee"]) == ("invited", "carer@example.org", None)
    assert invitation["invitation_expires_at"] is not None
    assert not [key for key in invitation if "token" in key or "hash" in key]


def test_export_holds_the_grants_received_with_only_the_patients_id_and_name(api, user_a):
    carer = UserFactory()
    grant = CareTeamGrant.objects.create(
        patient=user_a, role="caregiver", grantee=carer, invited_email=carer.email, scopes=["alerts"]
    )

    body = export_of(api(carer))

    (row,) = body["care_team_grants_received"]
    assert row["id"] == str(grant.pk) and row["patient"] == {"id": str(user_a.pk), "name": user_a.full_name}
    assert (row["role"], row["scopes"], row["status"]) == ("caregiver", ["alerts"], "active")
    assert user_a.email not in json.dumps(body)
