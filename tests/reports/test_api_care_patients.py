"""`GET /api/v1/care/patients/`: a doctor's or a caregiver's patients, in triage order, scoped by the grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent, CareTeamGrant, OrganizationMembership
from alerts.models import AlertEpisode
from health_metrics.summaries import rollups_rebuild
from tests.accounts.factories import DoctorFactory, UserFactory
from tests.accounts.organizations import grant_clinic, make_clinic
from tests.appointments.factories import AppointmentFactory
from tests.health_metrics.factories import BloodPressureFactory, HealthMetricFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/care/patients/"
ALL_SCOPES = ["health_metrics", "medications", "appointments", "alerts"]


def grant(patient, doctor, scopes=ALL_SCOPES, **extra) -> CareTeamGrant:
    return CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=scopes, **extra)


def episode(patient, severity: str, status: str = "open") -> AlertEpisode:
    now = timezone.now()
    return AlertEpisode.objects.create(
        user=patient,
        rule="clinical_threshold",
        metric_type="heart_rate",
        subject_key=f"{severity}-{AlertEpisode.objects.count()}",
        severity=severity,
        status=status,
        opened_at=now,
        last_signal_at=now,
        closed_at=now if status == "closed" else None,
    )


def ids(answer) -> list[str]:
    return [row["patient"]["id"] for row in answer.json()["results"]]


def test_it_requires_credentials(anon):
    assert anon.get(URL).status_code == 401


def test_a_person_without_grants_sees_an_empty_list(user_a, api):
    answer = api(user_a).get(URL)
    assert answer.status_code == 200
    assert answer.json()["count"] == 0


def test_a_row_holds_every_field_of_the_scopes_granted(doctor, api):
    patient = UserFactory()
    now = timezone.now().replace(microsecond=0)
    HealthMetricFactory(user=patient, metric_type="heart_rate", value=70, recorded_at=now - timedelta(hours=3))
    HealthMetricFactory(user=patient, metric_type="heart_rate", value=80, recorded_at=now - timedelta(hours=1))
    BloodPressureFactory(user=patient, systolic_value=130, diastolic_value=85, recorded_at=now - timedelta(hours=2))
    HealthMetricFactory(user=patient, metric_type="heart_rate", value=60, recorded_at=now - timedelta(days=30))
    rollups_rebuild(user_id=patient.pk)
    episode(patient, "critical")
    episode(patient, "warning", status="acknowledged")
    visit = AppointmentFactory(patient=patient, provider=doctor, start_time=now + timedelta(days=3))
    grant(patient, doctor)

    row = api(doctor).get(URL).json()["results"][0]

    assert row["patient"] == {"id": str(patient.pk), "name": patient.full_name}
    assert row["scopes"] == sorted(ALL_SCOPES)
    assert row["latest"]["heart_rate"]["value"] == 80
    assert row["latest"]["blood_pressure"] == {
        "systolic_value": 130,
        "diastolic_value": 85,
        "recorded_at": row["latest"]["blood_pressure"]["recorded_at"],
    }
    assert row["averages_7d"]["heart_rate"] == {"value": 75.0}
    assert row["averages_7d"]["blood_pressure"] == {"systolic_value": 130.0, "diastolic_value": 85.0}
    assert row["open_alerts"] == {"critical": 1, "warning": 0}
    assert datetime.fromisoformat(row["last_data_at"]) == now - timedelta(hours=1)
    assert row["adherence_7d"] is None
    assert row["next_appointment"]["id"] == str(visit.pk)


@pytest.mark.parametrize(
    ("scopes", "filled"),
    [
        (["health_metrics"], {"latest", "averages_7d", "last_data_at"}),
        (["alerts"], {"open_alerts"}),
        (["appointments"], {"next_appointment"}),
        (["medications"], set()),  # adherence with no regimen is null either way
    ],
)
def test_each_field_needs_its_scope(scopes, filled, doctor, api):
    patient = UserFactory()
    HealthMetricFactory(user=patient, recorded_at=timezone.now() - timedelta(hours=1))
    rollups_rebuild(user_id=patient.pk)
    episode(patient, "warning")
    AppointmentFactory(patient=patient, provider=doctor, start_time=timezone.now() + timedelta(days=2))
    grant(patient, doctor, scopes=scopes)
    row = api(doctor).get(URL).json()["results"][0]
    fields = {"latest", "averages_7d", "open_alerts", "last_data_at", "adherence_7d", "next_appointment"}
    assert {name for name in fields if row[name] is not None} == filled


def test_the_order_is_criticals_then_warnings_then_the_newest_data(doctor, api):
    now = timezone.now()
    quiet_old, quiet_new, warned, critical = (UserFactory() for _ in range(4))
    HealthMetricFactory(user=quiet_old, recorded_at=now - timedelta(days=5))
    HealthMetricFactory(user=quiet_new, recorded_at=now - timedelta(hours=1))
    never = UserFactory()
    episode(warned, "warning")
    episode(critical, "critical")
    episode(critical, "info")
    for patient in (quiet_old, never, warned, quiet_new, critical):
        grant(patient, doctor)
    assert ids(api(doctor).get(URL)) == [str(p.pk) for p in (critical, warned, quiet_new, quiet_old, never)]


def test_an_alert_the_reader_may_not_see_does_not_move_the_patient_up(doctor, api):
    now = timezone.now()
    hidden, shown = UserFactory(), UserFactory()
    HealthMetricFactory(user=shown, recorded_at=now - timedelta(hours=1))
    HealthMetricFactory(user=hidden, recorded_at=now - timedelta(hours=2))
    episode(hidden, "critical")
    grant(hidden, doctor, scopes=["health_metrics"])
    grant(shown, doctor, scopes=["health_metrics"])
    assert ids(api(doctor).get(URL)) == [str(shown.pk), str(hidden.pk)]


def test_revoked_expired_and_other_peoples_grants_list_nobody(doctor, api):
    revoked, expired, others = UserFactory(), UserFactory(), UserFactory()
    grant(revoked, doctor, revoked_at=timezone.now())
    grant(expired, doctor, expires_at=timezone.now() - timedelta(minutes=1))
    grant(others, DoctorFactory())
    assert api(doctor).get(URL).json()["count"] == 0


def test_a_caregiver_sees_the_patients_who_accepted_them(user_a, api):
    patient = UserFactory()
    CareTeamGrant.objects.create(patient=patient, grantee=user_a, role="caregiver", scopes=["alerts"])
    episode(patient, "critical")
    row = api(user_a).get(URL).json()["results"][0]
    assert (row["patient"]["id"], row["open_alerts"], row["latest"]) == (
        str(patient.pk),
        {"critical": 1, "warning": 0},
        None,
    )


def test_each_patient_shown_is_one_audited_read(doctor, api):
    patients = [UserFactory() for _ in range(3)]
    for patient in patients:
        grant(patient, doctor)
    answer = api(doctor).get(URL, {"limit": 2})
    shown = ids(answer)
    assert len(shown) == 2
    rows = AuditEvent.objects.filter(actor=doctor, resource_type="care_patient_summary")
    assert sorted(str(r.patient_id) for r in rows) == sorted(shown)
    assert {r.action for r in rows} == {"read"}


class TestThroughAnOrganization:
    def test_a_doctor_member_sees_the_patients_who_granted_the_clinic(self, doctor, api):
        colleague, staff, patient = DoctorFactory(), UserFactory(), UserFactory()
        org = make_clinic(doctor, members=[(colleague, "doctor"), (staff, "staff")])
        grant_clinic(patient, org, ["health_metrics"])
        assert ids(api(colleague).get(URL)) == [str(patient.pk)]
        assert api(staff).get(URL).json()["count"] == 0
        # The clinic admin is a clinic admin, not a doctor member: clinical reads go to doctor members.
        assert api(doctor).get(URL).json()["count"] == 0

    def test_removing_the_member_acts_on_the_next_request(self, doctor, api):
        colleague, patient = DoctorFactory(), UserFactory()
        org = make_clinic(doctor, members=[(colleague, "doctor")])
        grant_clinic(patient, org, ["health_metrics"])
        client = api(colleague)
        assert client.get(URL).json()["count"] == 1
        member = OrganizationMembership.objects.get(user=colleague)
        assert api(doctor).delete(f"/api/v1/organizations/{org}/members/{member.pk}/").status_code == 204
        assert client.get(URL).json()["count"] == 0

    def test_revoking_the_grant_acts_on_the_next_request(self, doctor, api):
        colleague, patient = DoctorFactory(), UserFactory()
        org = make_clinic(doctor, members=[(colleague, "doctor")])
        grant_id = grant_clinic(patient, org, ["health_metrics"])
        client = api(colleague)
        assert client.get(URL).json()["count"] == 1
        assert api(patient).delete(f"/api/v1/auth/care-team/{grant_id}/").status_code == 204
        assert client.get(URL).json()["count"] == 0


def _patients_with_history(doctor, count: int, first_hour: int = 0) -> None:
    now = timezone.now()
    for n in range(count):
        patient = UserFactory()
        HealthMetricFactory(user=patient, recorded_at=now - timedelta(hours=n + 1))
        BloodPressureFactory(user=patient, recorded_at=now - timedelta(hours=n + 2))
        episode(patient, "critical" if n % 3 == 0 else "warning")
        AppointmentFactory(
            patient=patient,
            provider=doctor,
            start_time=datetime(2031, 5, 6, 9, 0, tzinfo=UTC) + timedelta(hours=first_hour + n),
        )
        grant(patient, doctor)


def test_the_number_of_queries_does_not_grow_with_the_patients(doctor, api):
    client = api(doctor)
    _patients_with_history(doctor, 3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, {"limit": 200}).json()["count"] == 3
    _patients_with_history(doctor, 27, first_hour=3)
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL, {"limit": 200}).json()["count"] == 30
    assert len(many) == len(few)
    assert len(few) <= 13
