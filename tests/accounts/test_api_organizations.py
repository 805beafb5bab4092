"""`/api/v1/organizations/` and `{id}/members/`: clinics, their members, and who sees them."""

from __future__ import annotations

import pytest

from accounts.models import Organization, OrganizationMembership, SecurityEvent
from tests.accounts.factories import DoctorFactory, UserFactory
from tests.accounts.organizations import make_clinic

pytestmark = pytest.mark.django_db

URL = "/api/v1/organizations/"


def members_url(org_id, member_id=None) -> str:
    return f"{URL}{org_id}/members/" + (f"{member_id}/" if member_id else "")


class TestCreate:
    def test_it_requires_credentials(self, anon):
        assert anon.post(URL, {"name": "X"}, format="json").status_code == 401

    def test_a_doctor_creates_one_and_becomes_its_first_clinic_admin(self, doctor, api):
        answer = api(doctor).post(URL, {"name": "Riverside Clinic"}, format="json")
        assert answer.status_code == 201
        body = answer.json()
        assert set(body) == {"id", "name", "created_at"}
        membership = OrganizationMembership.objects.get(organization_id=body["id"])
        assert (membership.user_id, membership.role) == (doctor.pk, "clinic_admin")

    def test_an_admin_creates_one(self, admin_user, api):
        assert api(admin_user).post(URL, {"name": "HQ"}, format="json").status_code == 201

    def test_a_patient_cannot_create_one(self, user_a, api):
        answer = api(user_a).post(URL, {"name": "Mine"}, format="json")
        assert answer.status_code == 403
        assert not Organization.objects.exists()

    def test_a_missing_name_is_400(self, doctor, api):
        answer = api(doctor).post(URL, {}, format="json")
        assert answer.status_code == 400
        assert "name" in answer.json()["error"]["fields"]


class TestVisibility:
    def test_a_person_lists_only_the_organizations_they_belong_to(self, doctor, api):
        mine = make_clinic(doctor, name="Mine")
        make_clinic(DoctorFactory(), name="Other")
        answer = api(doctor).get(URL)
        assert [row["id"] for row in answer.json()["results"]] == [mine]

    def test_another_organization_is_404_to_read_change_or_delete(self, doctor, api):
        other = make_clinic(DoctorFactory())
        client = api(doctor)
        assert client.get(f"{URL}{other}/").status_code == 404
        assert client.patch(f"{URL}{other}/", {"name": "Taken"}, format="json").status_code == 404
        assert client.delete(f"{URL}{other}/").status_code == 404
        assert client.get(members_url(other)).status_code == 404
        assert (
            client.post(members_url(other), {"email": doctor.email, "role": "staff"}, format="json").status_code == 404
        )
        assert Organization.objects.get(pk=other).memberships.count() == 1

    def test_a_member_reads_it_and_its_members(self, doctor, user_a, api):
        org = make_clinic(doctor, members=[(user_a, "staff")])
        client = api(user_a)
        assert client.get(f"{URL}{org}/").json()["name"] == "Riverside Clinic"
        rows = client.get(members_url(org)).json()["results"]
        assert {(row["user"]["email"], row["role"]) for row in rows} == {
            (doctor.email, "clinic_admin"),
            (user_a.email, "staff"),
        }
        assert set(rows[0]) == {"id", "user", "role", "created_at"}
        assert set(rows[0]["user"]) == {"id", "name", "email"}


class TestMembers:
    def test_a_clinic_admin_adds_a_staff_member(self, doctor, user_a, api):
        org = make_clinic(doctor)
        answer = api(doctor).post(members_url(org), {"email": user_a.email.upper(), "role": "staff"}, format="json")
        assert answer.status_code == 201
        assert answer.json()["role"] == "staff"
        assert OrganizationMembership.objects.filter(organization_id=org, user=user_a, role="staff").exists()
        assert SecurityEvent.objects.filter(event_type="organization_member_added", user=doctor).count() == 2

    def test_the_doctor_role_needs_an_account_holding_the_doctor_role(self, doctor, user_a, api):
        org = make_clinic(doctor)
        answer = api(doctor).post(members_url(org), {"email": user_a.email, "role": "doctor"}, format="json")
        assert answer.status_code == 400
        assert "role" in answer.json()["error"]["fields"]
        assert not OrganizationMembership.objects.filter(user=user_a).exists()

    def test_a_doctor_account_joins_as_a_doctor(self, doctor, api):
        colleague = DoctorFactory()
        org = make_clinic(doctor)
        answer = api(doctor).post(members_url(org), {"email": colleague.email, "role": "doctor"}, format="json")
        assert answer.status_code == 201

    def test_an_unknown_address_or_a_member_twice_is_400(self, doctor, user_a, api):
        org = make_clinic(doctor, members=[(user_a, "staff")])
        client = api(doctor)
        unknown = client.post(members_url(org), {"email": "nobody@example.org", "role": "staff"}, format="json")
        twice = client.post(members_url(org), {"email": user_a.email, "role": "staff"}, format="json")
        assert (unknown.status_code, twice.status_code) == (400, 400)
        assert OrganizationMembership.objects.filter(organization_id=org).count() == 2

    def test_a_staff_member_cannot_add_members(self, doctor, user_a, user_b, api):
        org = make_clinic(doctor, members=[(user_a, "staff")])
        answer = api(user_a).post(members_url(org), {"email": user_b.email, "role": "staff"}, format="json")
        assert answer.status_code == 403
        assert not OrganizationMembership.objects.filter(user=user_b).exists()

    def test_deleting_a_member_answers_204_and_removes_them(self, doctor, user_a, api):
        org = make_clinic(doctor, members=[(user_a, "staff")])
        member = OrganizationMembership.objects.get(user=user_a)
        assert api(doctor).delete(members_url(org, member.pk)).status_code == 204
        assert not OrganizationMembership.objects.filter(pk=member.pk).exists()
        assert api(user_a).get(f"{URL}{org}/").status_code == 404

    def test_the_last_clinic_admin_cannot_be_removed(self, doctor, api):
        org = make_clinic(doctor)
        member = OrganizationMembership.objects.get(user=doctor)
        assert api(doctor).delete(members_url(org, member.pk)).status_code == 409
        assert OrganizationMembership.objects.filter(pk=member.pk).exists()

    def test_a_clinic_admin_changes_a_role(self, doctor, user_a, api):
        org = make_clinic(doctor, members=[(user_a, "staff")])
        member = OrganizationMembership.objects.get(user=user_a)
        answer = api(doctor).patch(members_url(org, member.pk), {"role": "clinic_admin"}, format="json")
        assert answer.status_code == 200
        member.refresh_from_db()
        assert member.role == "clinic_admin"

    def test_a_clinic_admin_renames_and_deletes_the_organization(self, doctor, user_a, api):
        org = make_clinic(doctor, members=[(user_a, "staff")])
        assert api(user_a).patch(f"{URL}{org}/", {"name": "Mine now"}, format="json").status_code == 403
        assert api(doctor).patch(f"{URL}{org}/", {"name": "Hillside"}, format="json").json()["name"] == "Hillside"
        assert api(doctor).delete(f"{URL}{org}/").status_code == 204
        assert not Organization.objects.filter(pk=org).exists()


def test_a_member_of_another_organization_is_404_in_this_one(doctor, api):
    outsider = UserFactory()
    make_clinic(DoctorFactory(), members=[(outsider, "staff")])
    org = make_clinic(doctor)
    assert api(outsider).get(members_url(org)).status_code == 404
