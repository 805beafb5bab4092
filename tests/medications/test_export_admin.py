"""Medications in the personal export, and the audited admin."""

import json

import pytest
from django.test import Client
from freezegun import freeze_time

from accounts.models import AuditEvent
from medications.models import DrugInteraction
from tests.medications.conftest import URL, create_regimen


@pytest.mark.django_db
def test_the_export_holds_regimens_and_dose_logs(api, user_a):
    with freeze_time("2025-03-05 06:00:00"):
        regimen = create_regimen(api(user_a), instructions="With breakfast")
    with freeze_time("2025-03-05 08:05:00"):
        client = api(user_a)
        client.post(f"{URL}{regimen['id']}/log/", {"scheduled_for": "2025-03-05T08:00:00Z", "status": "taken"})
    r = api(user_a).get("/api/v1/auth/export/")  # outside freezegun: orjson does not encode its FakeDatetime
    body = json.loads(b"".join(r.streaming_content))
    [exported] = body["medication_regimens"]
    assert exported["id"] == regimen["id"] and exported["instructions"] == "With breakfast"
    [dose] = body["medication_dose_logs"]
    assert dose["regimen"] == regimen["id"] and dose["status"] == "taken" and dose["as_needed"] is False


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def admin_client(self, admin_user) -> Client:
        client = Client()
        client.force_login(admin_user)
        return client

    def test_viewing_a_regimen_is_audited_for_its_owner(self, admin_client, admin_user, client_a, user_a):
        regimen = create_regimen(client_a)
        r = admin_client.get(f"/admin/medications/regimen/{regimen['id']}/change/")
        assert r.status_code == 200
        event = AuditEvent.objects.get(patient=user_a)
        assert (event.actor, event.action, event.resource_type) == (admin_user, "read", "medication_regimen")

    def test_catalog_and_interaction_lists_open(self, admin_client, catalog):
        for model in ("medication", "medicationcategory", "druginteraction", "regimen", "doselog"):
            assert admin_client.get(f"/admin/medications/{model}/").status_code == 200, model

    def test_an_interaction_entered_backwards_is_stored_in_canonical_order(self, admin_client, catalog):
        r = admin_client.post(
            "/admin/medications/druginteraction/add/",
            {
                "a_kind": "ingredient",
                "a_value": "Grapefruit",
                "b_kind": "class",
                "b_value": "statin (CYP3A4)",
                "severity": "moderate",
                "description": "Grapefruit juice inhibits intestinal CYP3A4 and raises simvastatin levels.",
                "source": "FDA label: Zocor (simvastatin), section 7",
                "source_url": "",
            },
        )
        assert r.status_code == 302, r.content
        row = DrugInteraction.objects.get(a_value="statin (CYP3A4)", b_value="grapefruit")
        assert (row.a_kind, row.b_kind) == ("class", "ingredient")
