"""One permission mechanism for a doctor's `patient=<id>` in every app, proven as a matrix.

Roles × apps × actions: a doctor without a grant, with an expired or revoked grant, or with a grant of another
scope, and another patient, all get 404 on the patient's lists and objects; a doctor with a live grant reads
(each read lands in the patient's access log) but changes nothing where the app does not say so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, CareTeamGrant
from tests.accounts.factories import DoctorFactory, UserFactory
from tests.appointments.factories import AppointmentFactory
from tests.health_metrics.factories import HealthMetricFactory, TargetFactory
from tests.medications.conftest import create_regimen

pytestmark = pytest.mark.django_db

SCOPES = ("health_metrics", "medications", "appointments")


@pytest.fixture
def patient():
    return UserFactory()


@pytest.fixture
def records(patient, api):
    """One object of each kind the patient owns, with the list and detail URLs that reach it."""
    reading = HealthMetricFactory(user=patient)
    target = TargetFactory(user=patient)
    regimen = create_regimen(api(patient))
    appointment = AppointmentFactory(patient=patient, start_time=datetime(2031, 5, 6, 9, 0, tzinfo=UTC))
    return {
        "reading": ("health_metrics", "/api/v1/health-metrics/", str(reading.pk)),
        "target": ("health_metrics", "/api/v1/health-metrics/targets/", str(target.pk)),
        "regimen": ("medications", "/api/v1/medications/", regimen["id"]),
        "appointment": ("appointments", "/api/v1/appointments/", str(appointment.pk)),
    }


def make_grant(patient, doctor, scopes=SCOPES, **extra):
    return CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=list(scopes), **extra)


def no_grant(patient, doctor):
    return None


def expired_grant(patient, doctor):
    return make_grant(patient, doctor, expires_at=timezone.now() - timedelta(minutes=1))


def revoked_grant(patient, doctor):
    return make_grant(patient, doctor, revoked_at=timezone.now())


def grant_of_other_scopes(patient, doctor):
    """Filled per kind below: a live grant of every scope except the one the kind needs."""
    return "other-scopes"


REFUSED = [no_grant, expired_grant, revoked_grant, grant_of_other_scopes]
KINDS = ["reading", "target", "regimen", "appointment"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("situation", REFUSED, ids=lambda f: f.__name__)
def test_a_doctor_without_a_live_grant_of_the_scope_gets_404(situation, kind, patient, records, api):
    doctor = DoctorFactory()
    scope, url, object_id = records[kind]
    if situation(patient, doctor) == "other-scopes":
        make_grant(patient, doctor, scopes=[s for s in SCOPES if s != scope])
    client = api(doctor)
    query = f"?patient={patient.pk}"

    assert client.get(url + query).status_code == 404
    assert client.get(f"{url}{object_id}/{query}").status_code == 404
    assert client.patch(f"{url}{object_id}/{query}", {"notes": "x"}, format="json").status_code == 404
    # Appointments are cancelled, never deleted: that route has no DELETE at all.
    assert client.delete(f"{url}{object_id}/{query}").status_code == (405 if kind == "appointment" else 404)
    assert not AuditEvent.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_another_patient_never_sees_the_patients_objects(kind, patient, records, api):
    other = UserFactory()
    make_grant(patient, DoctorFactory())  # a grant to someone else changes nothing for `other`
    _scope, url, object_id = records[kind]
    client = api(other)
    assert client.get(f"{url}?patient={patient.pk}").status_code == 404
    assert client.get(f"{url}{object_id}/").status_code == 404
    assert object_id not in client.get(url).content.decode()
    assert client.delete(f"{url}{object_id}/").status_code in (404, 405)


@pytest.mark.parametrize("kind", KINDS)
def test_a_doctor_with_a_live_grant_reads_and_each_read_is_logged(kind, patient, records, api):
    doctor = DoctorFactory()
    make_grant(patient, doctor)
    _scope, url, object_id = records[kind]
    client = api(doctor)

    listed = client.get(f"{url}?patient={patient.pk}")
    assert listed.status_code == 200
    assert object_id in [row["id"] for row in listed.json()["results"]]
    detail = client.get(f"{url}{object_id}/?patient={patient.pk}", HTTP_USER_AGENT="clinic-browser/1.0")
    assert detail.status_code == 200 and detail.json()["id"] == object_id

    events = AuditEvent.objects.filter(patient=patient, actor=doctor, action="read")
    assert events.count() == 2
    assert events.filter(resource_id=object_id, user_agent="clinic-browser/1.0").exists()

    log = api(patient).get("/api/v1/auth/access-log/")
    assert log.status_code == 200
    entry = next(e for e in log.json()["results"] if e["resource_id"] == object_id)
    assert entry["actor"]["email"] == doctor.email and entry["action"] == "read"


@pytest.mark.parametrize("kind", ["reading", "target", "regimen"])
def test_a_doctor_with_a_grant_cannot_change_what_the_app_keeps_read_only(kind, patient, records, api):
    doctor = DoctorFactory()
    make_grant(patient, doctor)
    _scope, url, object_id = records[kind]
    client = api(doctor)
    assert client.patch(f"{url}{object_id}/?patient={patient.pk}", {"notes": "x"}, format="json").status_code == 403
    assert client.delete(f"{url}{object_id}/?patient={patient.pk}").status_code == 403
    assert client.get(f"{url}{object_id}/?patient={patient.pk}").status_code == 200


def test_the_patients_own_reads_are_not_logged(patient, records, api):
    client = api(patient)
    for _scope, url, object_id in records.values():
        assert client.get(f"{url}{object_id}/").status_code == 200
    assert not AuditEvent.objects.filter(patient=patient).exists()


def test_the_access_log_shows_only_my_entries(patient, records, api):
    doctor, other = DoctorFactory(), UserFactory()
    make_grant(patient, doctor)
    make_grant(other, doctor)
    HealthMetricFactory(user=other)
    api(doctor).get(f"/api/v1/health-metrics/?patient={patient.pk}")
    api(doctor).get(f"/api/v1/health-metrics/?patient={other.pk}")
    mine = api(patient).get("/api/v1/auth/access-log/").json()["results"]
    assert len(mine) == 1
    assert AuditEvent.objects.filter(patient=other).count() == 1


def test_audit_rows_cannot_be_changed(patient, records, api):
    doctor = DoctorFactory()
    make_grant(patient, doctor)
    api(doctor).get(f"/api/v1/health-metrics/?patient={patient.pk}")
    event = AuditEvent.objects.get(patient=patient)
    event.action = "delete"
    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_an_admin_viewing_a_reading_in_the_django_admin_is_logged(patient, admin_user, client):
    reading = HealthMetricFactory(user=patient)
    client.force_login(admin_user)
    page = client.get(f"/admin/health_metrics/healthmetric/{reading.pk}/change/")
    assert page.status_code == 200
    event = AuditEvent.objects.get(patient=patient)
    assert (event.actor, event.action, event.resource_id) == (admin_user, "read", str(reading.pk))
