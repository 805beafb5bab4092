"""Clinic staff book, reschedule and cancel for the clinic's patients (`patient` in the body), audited; a clinic
admin manages its doctors' working hours and days off; nobody outside the clinic sees anything (404)."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent, OrganizationMembership
from appointments.models import Appointment
from tests.accounts.factories import DoctorFactory, UserFactory
from tests.accounts.organizations import grant_clinic, make_clinic

from .conftest import TUESDAY, URL, berlin, iso
from .factories import ProviderProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(doctor, provider):
    """A clinic whose admin is `doctor` (the provider) as a doctor member too, with one staff member, and a
    patient who granted it appointments."""
    admin, staff, patient = DoctorFactory(), UserFactory(), UserFactory()
    org = make_clinic(admin, members=[(doctor, "doctor"), (staff, "staff")])
    grant_id = grant_clinic(patient, org, ["appointments"])
    return {"id": org, "admin": admin, "staff": staff, "patient": patient, "grant": grant_id, "provider": doctor}


def booking(clinic, **extra) -> dict:
    return {
        "provider": str(clinic["provider"].pk),
        "start_time": iso(berlin(TUESDAY, 10)),
        "appointment_type": "in_person",
        "patient": str(clinic["patient"].pk),
        **extra,
    }


def test_staff_book_for_a_patient_of_the_clinic_and_it_is_audited(clinic, api):
    answer = api(clinic["staff"]).post(URL, booking(clinic), format="json")
    assert answer.status_code == 201, answer.content
    stored = Appointment.objects.get(pk=answer.json()["id"])
    assert (stored.patient_id, stored.provider_id) == (clinic["patient"].pk, clinic["provider"].pk)
    event = AuditEvent.objects.get(patient=clinic["patient"])
    assert (event.actor_id, event.action, event.resource_type) == (clinic["staff"].pk, "create", "appointment")


def test_a_clinic_admin_books_too(clinic, api):
    assert api(clinic["admin"]).post(URL, booking(clinic), format="json").status_code == 201


def test_staff_reschedule_and_cancel_each_audited(clinic, api):
    client = api(clinic["staff"])
    appointment_id = client.post(URL, booking(clinic), format="json").json()["id"]
    patient = str(clinic["patient"].pk)
    moved = client.post(
        f"{URL}{appointment_id}/reschedule/",
        {"start_time": iso(berlin(TUESDAY, 11)), "patient": patient},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    cancelled = client.post(f"{URL}{appointment_id}/cancel/", {"patient": patient, "reason": "Ill"}, format="json")
    assert cancelled.status_code == 200
    stored = Appointment.objects.get(pk=appointment_id)
    assert (stored.start_time, stored.status, stored.cancelled_by_id) == (
        berlin(TUESDAY, 11),
        "cancelled",
        clinic["staff"].pk,
    )
    actions = list(
        AuditEvent.objects.filter(actor=clinic["staff"]).order_by("created_at").values_list("action", flat=True)
    )
    assert actions == ["create", "update", "update"]


def test_staff_book_only_with_the_clinics_doctors(clinic, api):
    outsider = ProviderProfileFactory().doctor
    answer = api(clinic["staff"]).post(URL, booking(clinic, provider=str(outsider.pk)), format="json")
    assert answer.status_code == 400
    assert "provider" in answer.json()["error"]["fields"]
    assert not Appointment.objects.exists()


def test_staff_of_another_clinic_get_404(clinic, api):
    other_staff = UserFactory()
    make_clinic(DoctorFactory(), members=[(other_staff, "staff")])
    client = api(other_staff)
    assert client.post(URL, booking(clinic), format="json").status_code == 404
    appointment_id = api(clinic["staff"]).post(URL, booking(clinic), format="json").json()["id"]
    patient = str(clinic["patient"].pk)
    assert client.post(f"{URL}{appointment_id}/cancel/", {"patient": patient}, format="json").status_code == 404
    assert Appointment.objects.get(pk=appointment_id).status == "scheduled"


def test_a_grant_without_the_appointments_scope_is_404(clinic, api):
    patient = UserFactory()
    grant_clinic(patient, clinic["id"], ["health_metrics"])
    answer = api(clinic["staff"]).post(URL, booking(clinic, patient=str(patient.pk)), format="json")
    assert answer.status_code == 404


def test_revoking_the_grant_or_removing_the_member_acts_at_once(clinic, api):
    staff = api(clinic["staff"])
    assert staff.post(URL, booking(clinic), format="json").status_code == 201
    member = OrganizationMembership.objects.get(user=clinic["staff"])
    assert api(clinic["admin"]).delete(f"/api/v1/organizations/{clinic['id']}/members/{member.pk}/").status_code == 204
    assert staff.post(URL, booking(clinic, start_time=iso(berlin(TUESDAY, 12))), format="json").status_code == 404
    admin = api(clinic["admin"])
    assert admin.post(URL, booking(clinic, start_time=iso(berlin(TUESDAY, 13))), format="json").status_code == 201
    assert api(clinic["patient"]).delete(f"/api/v1/auth/care-team/{clinic['grant']}/").status_code == 204
    assert admin.post(URL, booking(clinic, start_time=iso(berlin(TUESDAY, 14))), format="json").status_code == 404


class TestSchedule:
    def url(self, clinic) -> str:
        return f"/api/v1/appointments/providers/{clinic['provider'].pk}/schedule/"

    def test_a_clinic_admin_sets_a_doctor_members_hours_and_days_off(self, clinic, api):
        body = {"working_hours": [{"weekday": 1, "start": "08:00", "end": "12:00"}], "days_off": ["2025-04-01"]}
        answer = api(clinic["admin"]).patch(self.url(clinic), body, format="json")
        assert answer.status_code == 200, answer.content
        profile = clinic["provider"].provider_profile
        profile.refresh_from_db()
        assert profile.working_hours == [{"weekday": 1, "start": "08:00", "end": "12:00"}]
        assert [str(day) for day in profile.days_off] == ["2025-04-01"]

    def test_staff_and_outsiders_get_404(self, clinic, api):
        body = {"days_off": ["2025-04-01"]}
        assert api(clinic["staff"]).patch(self.url(clinic), body, format="json").status_code == 404
        assert api(DoctorFactory()).get(self.url(clinic)).status_code == 404

    def test_the_provider_reads_their_own(self, clinic, api):
        assert api(clinic["provider"]).get(self.url(clinic)).status_code == 200
