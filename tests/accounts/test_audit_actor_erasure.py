"""Erasing an account that read someone else's data (issue 17.5): the erasure succeeds, the reader stays named.

Audit rows keep a snapshot of who acted (id, name, e-mail at the time). On PostgreSQL the append-only trigger
still refuses every UPDATE except the one the erasure needs: the link to the erased account going NULL.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from accounts.models import AuditEvent, CareTeamGrant
from tests.accounts.factories import PASSWORD, DoctorFactory, UserFactory
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
needs_trigger = pytest.mark.skipif(
    not ON_POSTGRES, reason="the append-only trigger exists only on PostgreSQL; CI runs it"
)


@pytest.fixture
def patient():
    return UserFactory()


@pytest.fixture
def reader(patient, api):
    """A doctor who read the patient's readings under a grant: one audit row names them."""
    doctor = DoctorFactory(first_name="Gregory", last_name="House")
    HealthMetricFactory(user=patient)
    CareTeamGrant.objects.create(patient=patient, grantee=doctor, invited_email=doctor.email, scopes=["health_metrics"])
    assert api(doctor).get(f"/api/v1/health-metrics/?patient={patient.pk}").status_code == 200
    return doctor


def test_each_row_stores_who_acted_when_it_is_written(patient, reader):
    event = AuditEvent.objects.get(patient=patient)
    assert (event.actor_account_id, event.actor_name, event.actor_email) == (reader.pk, "Gregory House", reader.email)


def test_the_snapshot_keeps_the_name_of_the_time(patient, reader, api):
    reader.last_name = "Wilson"
    reader.save(update_fields=["last_name"])
    (entry,) = api(patient).get("/api/v1/auth/access-log/").json()["results"]
    assert entry["actor"]["name"] == "Gregory House"


def test_the_reader_deletes_their_account_and_the_patient_still_sees_who_read(patient, reader, api):
    reader_id, reader_email = reader.pk, reader.email

    r = api(reader).delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")

    assert r.status_code == 204, r.content
    assert not type(reader).objects.filter(pk=reader_id).exists()
    (entry,) = api(patient).get("/api/v1/auth/access-log/").json()["results"]
    assert entry["actor"] == {"id": str(reader_id), "name": "Gregory House", "email": reader_email}
    assert entry["action"] == "read" and entry["resource_type"] == "health_metric"
    event = AuditEvent.objects.get(patient=patient)
    assert event.actor_id is None and event.actor_account_id == reader_id


def test_the_readers_erasure_revokes_the_grant_and_the_patient_keeps_its_address(patient, reader, api):
    grant = CareTeamGrant.objects.get(patient=patient)

    api(reader).delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")

    stored = CareTeamGrant.objects.get(pk=grant.pk)
    assert stored.grantee_id is None and stored.revoked_at is not None
    assert stored.invited_email == grant.invited_email and stored.status == "revoked"


def test_the_export_names_the_erased_reader_from_the_snapshot(patient, reader, api):
    api(reader).delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")
    response = api(patient).get("/api/v1/auth/export/")
    body = json.loads(b"".join(response.streaming_content))
    (entry,) = body["access_log"]
    assert entry["actor"]["email"] == reader.email and entry["actor"]["name"] == "Gregory House"


def _refused(sql: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return "append-only" in str(exc)
    return False


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE accounts_auditevent SET action = 'delete' WHERE patient_id = %s",
        "UPDATE accounts_auditevent SET actor_email = 'someone@else.org' WHERE patient_id = %s",
        "UPDATE accounts_auditevent SET actor_id = NULL, actor_name = '' WHERE patient_id = %s",
        "UPDATE accounts_auditevent SET actor_id = patient_id WHERE patient_id = %s",
    ],
    ids=["action", "snapshot", "unlink-and-rename", "re-point"],
)
@pytest.mark.postgres
@needs_trigger
@pytest.mark.usefixtures("reader")
def test_the_trigger_still_refuses_every_other_update(sql, patient):
    assert _refused(sql, [patient.pk])
    assert AuditEvent.objects.get(patient=patient).actor_id is not None


@pytest.mark.postgres
@needs_trigger
@pytest.mark.usefixtures("reader")
def test_the_trigger_lets_only_the_unlinking_through(patient):
    assert not _refused("UPDATE accounts_auditevent SET actor_id = NULL WHERE patient_id = %s", [patient.pk])
    event = AuditEvent.objects.get(patient=patient)
    assert event.actor_id is None and event.actor_email
    # Once unlinked, a row cannot be linked again.
    assert _refused("UPDATE accounts_auditevent SET actor_id = patient_id WHERE patient_id = %s", [patient.pk])
