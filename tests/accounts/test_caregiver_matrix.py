"""A caregiver's `?patient=` in every app, as a matrix: grant state × scope × read and write.

States: invited (not yet accepted), accepted, expired, revoked. Scopes: health_metrics, medications,
appointments (`alerts` is read through `accounts.selectors.care_grantees`, tested in test_care_grantees.py).
A caregiver reads only under an accepted, live grant of the scope (200, audited) and 404 otherwise; a caregiver
never writes: 403 under a live grant of the scope, even where a doctor may write (prescriptions, appointment
status), and 404 without one. Nothing the patient holds changes either way.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.care_team import care_grant_revoke, care_invitation_accept, care_invitation_create
from accounts.models import AuditEvent, CareTeamGrant, Role, UserRole
from appointments.models import Appointment
from health_metrics.models import HealthMetric
from medications.models import Regimen
from tests.accounts.factories import UserFactory
from tests.appointments.factories import AppointmentFactory
from tests.health_metrics.factories import HealthMetricFactory
from tests.medications.conftest import create_regimen, regimen_body

pytestmark = pytest.mark.django_db

SCOPES = ("health_metrics", "medications", "appointments")
STATES = ("invited", "accepted", "expired", "revoked")


@pytest.fixture
def patient():
    return UserFactory()


@pytest.fixture
def caregiver():
    return UserFactory()


@pytest.fixture
def records(patient, api):
    """One object of each scope the patient owns: (list URL, object id)."""
    reading = HealthMetricFactory(user=patient)
    regimen = create_regimen(api(patient))
    appointment = AppointmentFactory(patient=patient, start_time=datetime(2031, 5, 6, 9, 0, tzinfo=UTC))
    return {
        "health_metrics": ("/api/v1/health-metrics/", str(reading.pk)),
        "medications": ("/api/v1/medications/", regimen["id"]),
        "appointments": ("/api/v1/appointments/", str(appointment.pk)),
    }


def grant_in_state(state: str, *, patient, caregiver, scopes) -> CareTeamGrant:
    """A caregiver grant brought to STATE through the services (the HTTP flow is test_api_care_invitations.py)."""
    grant = care_invitation_create(patient=patient, email=caregiver.email, scopes=list(scopes))
    if state == "invited":
        return grant
    # The mailed token is not at hand here: give the invitation one whose hash is known.
    token = "matrix-token"
    CareTeamGrant.objects.filter(pk=grant.pk).update(invitation_token_hash=hashlib.sha256(token.encode()).hexdigest())
    grant = care_invitation_accept(user=caregiver, token=token)
    if state == "expired":
        CareTeamGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    if state == "revoked":
        care_grant_revoke(grant=grant, by=patient)
    return grant


def write_requests(scope: str, url: str, object_id: str) -> list[tuple[str, str, dict]]:
    """Every kind of write the scope's app serves, each as (method, path, body)."""
    detail = f"{url}{object_id}/"
    if scope == "health_metrics":
        reading = {"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-07-24T12:00:00Z"}
        return [("post", url, reading), ("patch", detail, {"notes": "x"}), ("delete", detail, {})]
    if scope == "medications":
        log = {"scheduled_for": "2025-03-01T08:00:00Z", "status": "taken"}
        return [
            ("post", url, regimen_body()),
            ("patch", detail, {"dosage": 99}),
            ("delete", detail, {}),
            ("post", f"{detail}log/", log),
        ]
    later = "2031-05-07T09:00:00Z"
    return [
        ("post", url, {"provider": object_id, "start_time": later, "appointment_type": "in_person"}),
        ("patch", detail, {"notes": "x"}),
        ("post", f"{detail}confirm/", {}),
        ("post", f"{detail}complete/", {}),
        ("post", f"{detail}cancel/", {"reason": "x"}),
        ("post", f"{detail}reschedule/", {"start_time": later}),
    ]


def patients_data(patient) -> tuple:
    """What a write could have changed, to compare before and after."""
    return (
        sorted(HealthMetric.objects.filter(user=patient).values_list("id", "notes")),
        sorted(Regimen.objects.filter(user=patient).values_list("id", "dosage", "is_active")),
        sorted(Appointment.objects.filter(patient=patient).values_list("id", "status", "start_time", "notes")),
    )


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("state", STATES)
def test_a_caregiver_reads_only_under_an_accepted_live_grant_of_the_scope(
    state, scope, patient, caregiver, records, api
):
    grant_in_state(state, patient=patient, caregiver=caregiver, scopes=[scope])
    url, object_id = records[scope]
    client = api(caregiver)
    query = f"?patient={patient.pk}"

    listed = client.get(url + query)
    detail = client.get(f"{url}{object_id}/{query}")

    if state == "accepted":
        assert listed.status_code == 200 and object_id in [row["id"] for row in listed.json()["results"]]
        assert detail.status_code == 200 and detail.json()["id"] == object_id
        events = AuditEvent.objects.filter(patient=patient, actor=caregiver, action="read")
        assert events.count() == 2 and events.filter(resource_id=object_id).exists()
    else:
        assert (listed.status_code, detail.status_code) == (404, 404)
        assert not AuditEvent.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("state", STATES)
def test_a_caregiver_never_writes(state, scope, patient, caregiver, records, api):
    grant_in_state(state, patient=patient, caregiver=caregiver, scopes=[scope])
    url, object_id = records[scope]
    client = api(caregiver)
    before = patients_data(patient)

    for method, path, body in write_requests(scope, url, object_id):
        r = getattr(client, method)(f"{path}?patient={patient.pk}", body, format="json")
        expected = 403 if state == "accepted" else 404
        assert r.status_code == expected, (method, path, r.content)
        assert r.json()["error"]["code"] == ("permission_denied" if expected == 403 else "not_found")

    assert patients_data(patient) == before
    assert not AuditEvent.objects.filter(patient=patient).exclude(action="read").exists()


@pytest.mark.parametrize("scope", SCOPES)
def test_a_grant_of_other_scopes_reads_and_writes_nothing_of_this_one(scope, patient, caregiver, records, api):
    grant_in_state("accepted", patient=patient, caregiver=caregiver, scopes=[s for s in SCOPES if s != scope])
    url, object_id = records[scope]
    client = api(caregiver)
    assert client.get(f"{url}?patient={patient.pk}").status_code == 404
    assert client.get(f"{url}{object_id}/?patient={patient.pk}").status_code == 404
    for method, path, body in write_requests(scope, url, object_id):
        assert getattr(client, method)(f"{path}?patient={patient.pk}", body, format="json").status_code == 404


def test_the_patient_reads_a_caregivers_access_in_the_access_log(patient, caregiver, records, api):
    grant_in_state("accepted", patient=patient, caregiver=caregiver, scopes=["health_metrics"])
    url, object_id = records["health_metrics"]
    api(caregiver).get(f"{url}{object_id}/?patient={patient.pk}")

    (entry,) = api(patient).get("/api/v1/auth/access-log/").json()["results"]

    assert entry["actor"] == {"id": str(caregiver.pk), "name": caregiver.full_name, "email": caregiver.email}
    assert (entry["action"], entry["resource_id"]) == ("read", object_id)


class TestWhereDoctorsMayWrite:
    """Prescriptions and appointment status are doctors' writes; under a caregiver's grant they are refused."""

    def test_a_caregiver_cannot_prescribe(self, patient, caregiver, api):
        grant_in_state("accepted", patient=patient, caregiver=caregiver, scopes=["medications"])
        body = {**regimen_body(), "patient": str(patient.pk)}
        r = api(caregiver).post("/api/v1/medications/prescriptions/", body, format="json")
        assert r.status_code == 403
        assert not Regimen.objects.filter(user=patient).exists()

    def test_a_doctor_holding_a_caregivers_grant_cannot_prescribe(self, patient, caregiver, api):
        UserRole.objects.create(user=caregiver, role=Role.objects.get(name="doctor"))
        grant_in_state("accepted", patient=patient, caregiver=caregiver, scopes=["medications"])
        body = {**regimen_body(), "patient": str(patient.pk)}
        r = api(caregiver).post("/api/v1/medications/prescriptions/", body, format="json")
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        assert not Regimen.objects.filter(user=patient).exists()

    def test_the_patients_doctor_acting_under_a_caregivers_grant_cannot_change_appointment_status(
        self, patient, caregiver, api
    ):
        """Even the appointment's own doctor: under `?patient=` and a caregiver's grant, they only read."""
        UserRole.objects.create(user=caregiver, role=Role.objects.get(name="doctor"))
        grant_in_state("accepted", patient=patient, caregiver=caregiver, scopes=["appointments"])
        appointment = AppointmentFactory(
            patient=patient, provider=caregiver, start_time=datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
        )
        before = patients_data(patient)
        url = f"/api/v1/appointments/{appointment.pk}/"
        for action, body in (("confirm/", {}), ("cancel/", {"reason": "x"}), ("", {"notes": "x"})):
            method = api(caregiver).patch if not action else api(caregiver).post
            r = method(f"{url}{action}?patient={patient.pk}", body, format="json")
            assert r.status_code == 403, (action, r.content)
        assert patients_data(patient) == before
        # Without `?patient=` they act as the provider, as before.
        assert api(caregiver).post(f"{url}confirm/", {}, format="json").status_code == 200
