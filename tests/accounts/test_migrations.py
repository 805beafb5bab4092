"""The data migrations of caregivers and audit snapshots, forwards and backwards, on rows made before them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrating import migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0004_audit_append_only_trigger")]
SNAPSHOT_COLUMNS = [("accounts", "0007_audit_actor_snapshot")]
# The last migration these data migrations are about; the fixture puts the whole schema back afterwards.
LATEST = [("accounts", "0009_audit_trigger_allows_actor_erasure")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_rows():
    """A doctor's grant and an audit row as the schema before caregivers stored them; the schema is put back."""
    apps = migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    patient = User.objects.create(id=uuid.uuid4(), email="patient@example.org", username="patient")
    doctor = User.objects.create(
        id=uuid.uuid4(), email="doctor@example.org", username="doc", first_name="Ada", last_name="Lovelace"
    )
    nameless = User.objects.create(id=uuid.uuid4(), email="nameless@example.org", username="nameless")
    made = datetime(2025, 3, 1, 12, tzinfo=UTC)
    grant = apps.get_model("accounts", "CareTeamGrant").objects.create(
        patient=patient, doctor=doctor, scopes=["health_metrics"], created_at=made
    )
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    AuditEvent.objects.create(actor=doctor, patient=patient, action="read", resource_type="health_metric")
    AuditEvent.objects.create(actor=nameless, patient=patient, action="read", resource_type="health_metric")
    yield {"grant": grant.pk, "doctor": doctor.pk, "nameless": nameless.pk, "made": made}
    # Every app's latest migration, not LATEST: later accounts migrations must be back for the tests after these.
    migrate_to_latest()


def test_forwards_fills_the_grant_and_the_audit_snapshots(old_rows):
    apps = migrate(LATEST)

    grant = apps.get_model("accounts", "CareTeamGrant").objects.get(pk=old_rows["grant"])
    assert (grant.role, grant.grantee_id, grant.invited_email) == ("doctor", old_rows["doctor"], "doctor@example.org")
    assert grant.accepted_at == old_rows["made"] and grant.revoked_at is None
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    named = AuditEvent.objects.get(actor_id=old_rows["doctor"])
    assert (named.actor_account_id, named.actor_name, named.actor_email) == (
        old_rows["doctor"],
        "Ada Lovelace",
        "doctor@example.org",
    )
    assert AuditEvent.objects.get(actor_id=old_rows["nameless"]).actor_name == "nameless"


def test_backwards_clears_the_snapshots_and_keeps_the_doctors_grant(old_rows):
    migrate(LATEST)

    apps = migrate(SNAPSHOT_COLUMNS)
    assert not apps.get_model("accounts", "AuditEvent").objects.exclude(actor_account_id__isnull=True).exists()
    apps = migrate(BEFORE)
    grant = apps.get_model("accounts", "CareTeamGrant").objects.get(pk=old_rows["grant"])
    assert grant.doctor_id == old_rows["doctor"] and grant.revoked_at is None


def test_backwards_revokes_caregivers_grants_and_drops_pending_invitations(old_rows):
    apps = migrate(LATEST)
    CareTeamGrant = apps.get_model("accounts", "CareTeamGrant")
    User = apps.get_model("accounts", "User")
    patient = User.objects.get(email="patient@example.org")
    carer = User.objects.get(email="nameless@example.org")
    held = CareTeamGrant.objects.create(
        patient=patient, role="caregiver", grantee=carer, invited_email=carer.email, scopes=["alerts"]
    )
    CareTeamGrant.objects.create(patient=patient, role="caregiver", invited_email="x@example.org", accepted_at=None)

    apps = migrate(BEFORE)

    rows = apps.get_model("accounts", "CareTeamGrant").objects.all()
    assert sorted(str(g.pk) for g in rows) == sorted([str(old_rows["grant"]), str(held.pk)])
    assert rows.get(pk=held.pk).revoked_at is not None
