"""Medication test fixtures: the real catalog (parsed once per session, inserted per test that asks for it), and
small helpers that go through the API the way the app does."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core import serializers

from accounts.models import CareTeamGrant
from medications.models import DrugInteraction, Medication, MedicationCategory

URL = "/api/v1/medications/"
CATALOG_FIXTURES = [
    "fixtures/medications_categories.json",
    "fixtures/medications_catalog.json",
    "fixtures/medications_interactions.json",
]


@pytest.fixture(scope="session")
def catalog_rows() -> dict[type, list]:
    """The catalog fixture files parsed once per session (no database needed to parse them)."""
    rows: dict[type, list] = {MedicationCategory: [], Medication: [], DrugInteraction: []}
    for name in CATALOG_FIXTURES:
        with open(Path(settings.BASE_DIR) / name) as handle:
            for item in serializers.deserialize("json", handle):
                rows[type(item.object)].append(item.object)
    return rows


@pytest.fixture
def catalog(db, catalog_rows) -> dict[str, Medication]:
    """The whole catalog in the test database (three bulk inserts); answers generic name -> entry."""
    for model in (MedicationCategory, Medication, DrugInteraction):
        model.objects.bulk_create(catalog_rows[model])
    return {m.generic_name: m for m in Medication.objects.all()}


def set_timezone(user, name: str) -> None:
    user.profile.timezone = name
    user.profile.save(update_fields=["timezone"])


def grant(patient, doctor, scopes=("medications",)) -> CareTeamGrant:
    return CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=list(scopes))


def regimen_body(**overrides) -> dict:
    body = {
        "name": "Lisinopril",
        "dosage": 10,
        "dosage_unit": "mg",
        "form": "tablet",
        "frequency": "once_daily",
        "start_date": "2025-03-01",
    }
    body.update(overrides)
    return body


def create_regimen(client, **overrides) -> dict:
    r = client.post(URL, regimen_body(**overrides), format="json")
    assert r.status_code == 201, r.content
    return r.json()
