"""`GET dashboard/?patient=` and `POST reports/` with `patient`: under a live `health_metrics` grant, audited, and
404 in every other case (no grant, revoked, expired, another scope), personal grants and clinics' alike."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, CareTeamGrant, OrganizationMembership
from reports import services, tasks
from reports.models import Report
from tests.accounts.factories import DoctorFactory, UserFactory
from tests.accounts.organizations import grant_clinic, make_clinic
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/api/v1/dashboard/"
REPORTS = "/api/v1/reports/"


def report_body(patient, **overrides) -> dict:
    today = timezone.now().date()
    return {
        "report_type": "health_summary",
        "format": "csv",
        "start_date": (today - timedelta(days=6)).isoformat(),
        "end_date": today.isoformat(),
        "patient": str(patient.pk),
        **overrides,
    }


def no_grant(patient, doctor):
    return None


def revoked(patient, doctor):
    CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=["health_metrics"], revoked_at=timezone.now())


def expired(patient, doctor):
    CareTeamGrant.objects.create(
        patient=patient, grantee=doctor, scopes=["health_metrics"], expires_at=timezone.now() - timedelta(seconds=1)
    )


def other_scopes(patient, doctor):
    CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=["medications", "appointments", "alerts"])


def clinic_of_other_scopes(patient, doctor):
    org = make_clinic(DoctorFactory(), members=[(doctor, "doctor")])
    grant_clinic(patient, org, ["medications"])


def clinic_as_staff(patient, doctor):
    # A staff member books for the clinic's patients; reading their health data is for doctor members.
    org = make_clinic(DoctorFactory(), members=[(doctor, "staff")])
    grant_clinic(patient, org, ["health_metrics"])


REFUSED = [no_grant, revoked, expired, other_scopes, clinic_of_other_scopes, clinic_as_staff]


@pytest.fixture
def patient():
    person = UserFactory()
    HealthMetricFactory(user=person, metric_type="weight", value=71.0, recorded_at=timezone.now() - timedelta(hours=1))
    return person


@pytest.mark.parametrize("situation", REFUSED, ids=lambda f: f.__name__)
def test_the_dashboard_of_a_patient_is_404_without_a_live_health_metrics_grant(situation, patient, doctor, api):
    situation(patient, doctor)
    answer = api(doctor).get(DASHBOARD, {"patient": str(patient.pk)})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert not AuditEvent.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("situation", REFUSED, ids=lambda f: f.__name__)
def test_a_report_of_a_patient_is_404_without_a_live_health_metrics_grant(situation, patient, doctor, api):
    situation(patient, doctor)
    with mock.patch.object(tasks.generate_report, "delay"):
        answer = api(doctor).post(REPORTS, report_body(patient), format="json")
    assert answer.status_code == 404
    assert not Report.objects.exists()
    assert not AuditEvent.objects.filter(patient=patient).exists()


def test_an_unknown_patient_is_404_too(doctor, api):
    answer = api(doctor).get(DASHBOARD, {"patient": "00000000-0000-0000-0000-000000000000"})
    assert answer.status_code == 404


class TestDashboardUnderAGrant:
    def test_a_doctor_reads_the_patients_dashboard_and_it_is_audited(self, patient, doctor, api):
        CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=["health_metrics"])
        answer = api(doctor).get(DASHBOARD, {"patient": str(patient.pk)})
        assert answer.status_code == 200
        body = answer.json()
        assert body["latest"]["weight"]["value"] == 71.0
        # Sections of scopes not granted, and the patient's own inbox, are not shown.
        assert (body["medications"], body["appointments"], body["notifications"]) == (None, None, None)
        event = AuditEvent.objects.get(patient=patient)
        assert (event.actor_id, event.action, event.resource_type) == (doctor.pk, "read", "dashboard")

    def test_sections_of_the_other_granted_scopes_are_shown(self, patient, doctor, api):
        CareTeamGrant.objects.create(
            patient=patient, grantee=doctor, scopes=["health_metrics", "medications", "appointments"]
        )
        body = api(doctor).get(DASHBOARD, {"patient": str(patient.pk)}).json()
        assert body["medications"]["today"] == []
        assert body["appointments"] == {"upcoming": []}
        assert body["notifications"] is None

    def test_the_patients_own_dashboard_keeps_every_section_and_is_not_audited(self, patient, api):
        body = api(patient).get(DASHBOARD).json()
        assert body["notifications"]["unread_count"] == 0
        assert body["medications"] is not None
        assert not AuditEvent.objects.exists()

    def test_a_doctor_member_of_a_granted_clinic_reads_it_until_removed(self, patient, doctor, api):
        admin = DoctorFactory()
        org = make_clinic(admin, members=[(doctor, "doctor")])
        grant_clinic(patient, org, ["health_metrics"])
        client = api(doctor)
        assert client.get(DASHBOARD, {"patient": str(patient.pk)}).status_code == 200
        member = OrganizationMembership.objects.get(user=doctor)
        api(admin).delete(f"/api/v1/organizations/{org}/members/{member.pk}/")
        assert client.get(DASHBOARD, {"patient": str(patient.pk)}).status_code == 404


class TestReportUnderAGrant:
    def test_the_report_is_the_doctors_names_the_patient_and_is_audited(self, patient, doctor, api):
        CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=["health_metrics"])
        with mock.patch.object(tasks.generate_report, "delay"):
            answer = api(doctor).post(REPORTS, report_body(patient), format="json")
        assert answer.status_code == 202
        report = Report.objects.get(pk=answer.json()["id"])
        assert (report.user_id, report.patient_id) == (doctor.pk, patient.pk)
        event = AuditEvent.objects.get(patient=patient)
        assert (event.actor_id, event.action, event.resource_type, event.resource_id) == (
            doctor.pk,
            "export",
            "report",
            str(report.pk),
        )
        listed = api(doctor).get(REPORTS).json()["results"]
        assert listed[0]["patient"] == {"id": str(patient.pk), "name": patient.full_name}
        assert api(patient).get(REPORTS).json()["count"] == 0

    def test_the_file_holds_the_patients_readings(self, patient, doctor, api, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=["health_metrics"])
        HealthMetricFactory(user=doctor, metric_type="weight", value=99.0, recorded_at=timezone.now())
        with mock.patch.object(tasks.generate_report, "delay"):
            report_id = api(doctor).post(REPORTS, report_body(patient), format="json").json()["id"]
        assert services.report_generate(report_id=report_id) is services.Outcome.READY
        content = api(doctor).get(f"{REPORTS}{report_id}/download/")
        text = b"".join(content.streaming_content).decode()
        assert "71.0" in text
        assert "99.0" not in text

    def test_a_grant_revoked_before_generation_fails_the_report(self, patient, doctor, api):
        grant = CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=["health_metrics"])
        with mock.patch.object(tasks.generate_report, "delay"):
            report_id = api(doctor).post(REPORTS, report_body(patient), format="json").json()["id"]
        CareTeamGrant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
        assert services.report_generate(report_id=report_id) is services.Outcome.FAILED
        assert Report.objects.get(pk=report_id).error == "The patient's grant no longer allows this report."
