"""GET roles/, and POST/DELETE users/{id}/roles/: only an admin grants or removes a role."""

import pytest

from accounts.models import UserRole
from tests.accounts.factories import UserFactory

ROLES = "/api/v1/auth/roles/"
ME = "/api/v1/auth/current-user/"

pytestmark = pytest.mark.django_db


def user_roles_url(user) -> str:
    return f"/api/v1/auth/users/{user.pk}/roles/"


def stored_roles(user) -> list[str]:
    return sorted(UserRole.objects.filter(user=user).values_list("role__name", flat=True))


class TestRoleList:
    def test_lists_user_doctor_and_admin(self, client_a):
        r = client_a.get(ROLES)

        assert r.status_code == 200
        assert [role["name"] for role in r.json()["results"]] == ["admin", "doctor", "user"]
        assert set(r.json()["results"][0]) == {"id", "name", "description"}

    def test_is_paginated_like_every_list(self, client_a):
        r = client_a.get(ROLES, {"limit": 2})

        assert set(r.json()) == {"count", "count_is_estimate", "next", "previous", "results"}
        assert r.json()["count"] == 3
        assert len(r.json()["results"]) == 2

    def test_answers_in_a_fixed_number_of_queries(self, client_a, django_assert_max_num_queries):
        # The token's user, the count and the page.
        with django_assert_max_num_queries(3):
            client_a.get(ROLES)

    def test_needs_credentials(self, anon):
        assert anon.get(ROLES).status_code == 401


class TestSuperuserHoldsAdmin:
    def test_a_superuser_is_listed_with_the_admin_role(self, api, admin_user):
        assert "admin" in api(admin_user).get(ME).json()["roles"]

    def test_a_user_made_superuser_later_is_listed_with_the_admin_role(self, api, user_a):
        user_a.is_superuser = True
        user_a.save(update_fields=["is_superuser"])

        assert api(user_a).get(ME).json()["roles"] == ["admin", "user"]


class TestGrant:
    def test_admin_grants_a_role(self, api, admin_user, user_b):
        r = api(admin_user).post(user_roles_url(user_b), {"role": "doctor"})

        assert r.status_code == 200
        assert r.json()["id"] == str(user_b.pk)
        assert r.json()["roles"] == ["doctor", "user"]
        grant = UserRole.objects.get(user=user_b, role__name="doctor")
        assert grant.granted_by == admin_user

    def test_granting_a_held_role_again_changes_nothing(self, api, admin_user, doctor):
        r = api(admin_user).post(user_roles_url(doctor), {"role": "doctor"})

        assert r.status_code == 200
        assert stored_roles(doctor) == ["doctor", "user"]

    def test_a_holder_of_the_admin_role_may_grant(self, api, admin_user, user_a, user_b):
        api(admin_user).post(user_roles_url(user_a), {"role": "admin"})

        r = api(user_a).post(user_roles_url(user_b), {"role": "doctor"})

        assert r.status_code == 200
        assert stored_roles(user_b) == ["doctor", "user"]

    def test_a_patient_gets_403_and_nothing_is_granted(self, client_a, user_a):
        r = client_a.post(user_roles_url(user_a), {"role": "admin"})

        assert r.status_code == 403
        assert r.json()["error"]["code"] == "permission_denied"
        assert stored_roles(user_a) == ["user"]

    def test_a_doctor_gets_403(self, api, doctor, user_b):
        assert api(doctor).post(user_roles_url(user_b), {"role": "doctor"}).status_code == 403

    def test_needs_credentials(self, anon, user_b):
        assert anon.post(user_roles_url(user_b), {"role": "doctor"}).status_code == 401

    def test_an_unknown_role_answers_400_on_role(self, api, admin_user, user_b):
        r = api(admin_user).post(user_roles_url(user_b), {"role": "superhero"})

        assert r.status_code == 400
        assert "role" in r.json()["error"]["fields"]

    def test_an_unknown_user_answers_404(self, api, admin_user):
        r = api(admin_user).post("/api/v1/auth/users/00000000-0000-0000-0000-000000000000/roles/", {"role": "doctor"})

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

    def test_a_user_id_that_is_not_a_uuid_answers_404(self, api, admin_user):
        r = api(admin_user).post("/api/v1/auth/users/99999999999999999999999/roles/", {"role": "doctor"})

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


class TestRemove:
    def test_admin_removes_a_role(self, api, admin_user, doctor):
        r = api(admin_user).delete(user_roles_url(doctor), {"role": "doctor"})

        assert r.status_code == 200
        assert r.json()["roles"] == ["user"]
        assert stored_roles(doctor) == ["user"]

    def test_the_user_role_cannot_be_removed(self, api, admin_user, user_b):
        r = api(admin_user).delete(user_roles_url(user_b), {"role": "user"})

        assert r.status_code == 400
        assert stored_roles(user_b) == ["user"]

    def test_a_superusers_admin_role_cannot_be_removed_through_the_api(self, api, admin_user):
        other_admin = UserFactory(is_superuser=True)

        r = api(admin_user).delete(user_roles_url(other_admin), {"role": "admin"})

        assert r.status_code == 400
        assert "role" in r.json()["error"]["fields"]

    def test_a_patient_gets_403_and_nothing_is_removed(self, client_a, doctor):
        r = client_a.delete(user_roles_url(doctor), {"role": "doctor"})

        assert r.status_code == 403
        assert stored_roles(doctor) == ["doctor", "user"]

    def test_the_doctor_loses_doctor_permissions_at_once(self, api, admin_user, doctor):
        api(admin_user).delete(user_roles_url(doctor), {"role": "doctor"})

        assert api(doctor).get(ME).json()["roles"] == ["user"]
