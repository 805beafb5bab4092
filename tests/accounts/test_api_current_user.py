"""GET, PATCH, DELETE /api/v1/auth/current-user/: the person's own account, never anybody else's."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from rest_framework.test import APIClient

from accounts.models import User, UserProfile, UserRole
from accounts.services import tokens_for_user
from tests.accounts.factories import PASSWORD, UserFactory

URL = "/api/v1/auth/current-user/"
REFRESH = "/api/v1/auth/token/refresh/"

USER_FIELDS = {
    "id",
    "email",
    "username",
    "first_name",
    "last_name",
    "phone_number",
    "date_of_birth",
    "roles",
    "is_email_verified",
    "date_joined",
    "profile",
}
PROFILE_FIELDS = {
    "height_cm",
    "blood_type",
    "gender",
    "medical_conditions",
    "allergies",
    "current_medications_notes",
    "emergency_notes",
    "preferred_units",
    "timezone",
}

pytestmark = pytest.mark.django_db


class TestRead:
    def test_needs_credentials(self, anon):
        r = anon.get(URL)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_answers_exactly_the_documented_fields(self, client_a):
        data = client_a.get(URL).json()

        assert set(data) == USER_FIELDS
        assert set(data["profile"]) == PROFILE_FIELDS

    def test_answers_the_callers_own_account(self, client_a, user_a):
        data = client_a.get(URL).json()

        assert data["id"] == str(user_a.pk)
        assert data["email"] == user_a.email
        assert data["roles"] == ["user"]

    def test_roles_are_names(self, api, doctor):
        assert api(doctor).get(URL).json()["roles"] == ["doctor", "user"]

    def test_holds_no_secret(self, client_a, user_a):
        body = client_a.get(URL).content.decode()

        assert user_a.password not in body
        assert "password" not in body

    def test_answer_is_not_cacheable(self, client_a):
        assert "no-store" in client_a.get(URL)["Cache-Control"]


class TestUpdate:
    def test_changes_the_editable_fields(self, client_a, user_a):
        body = {
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone_number": "+1 555 0100",
            "date_of_birth": "1906-12-09",
        }

        r = client_a.patch(URL, body)

        assert r.status_code == 200
        assert r.json()["first_name"] == "Grace"
        user_a.refresh_from_db()
        assert (user_a.first_name, user_a.last_name, user_a.phone_number) == ("Grace", "Hopper", "+1 555 0100")
        assert user_a.date_of_birth.isoformat() == "1906-12-09"

    def test_changes_the_nested_profile(self, client_a, user_a):
        r = client_a.patch(URL, {"profile": {"timezone": "Europe/Paris", "blood_type": "O+"}})

        assert r.status_code == 200
        assert r.json()["profile"]["timezone"] == "Europe/Paris"
        profile = UserProfile.objects.get(user=user_a)
        assert (profile.timezone, profile.blood_type) == ("Europe/Paris", "O+")

    def test_username_taken_by_another_answers_400_on_username(self, client_a, user_b):
        r = client_a.patch(URL, {"username": user_b.username.upper()})

        assert r.status_code == 400
        assert "username" in r.json()["error"]["fields"]

    def test_invalid_date_answers_400_on_date_of_birth(self, client_a):
        r = client_a.patch(URL, {"date_of_birth": "09/12/1906"})

        assert r.status_code == 400
        assert "date_of_birth" in r.json()["error"]["fields"]

    def test_invalid_nested_profile_value_answers_400_under_profile(self, client_a):
        r = client_a.patch(URL, {"profile": {"timezone": "Mars/Olympus_Mons"}})

        assert r.status_code == 400
        assert "timezone" in r.json()["error"]["fields"]["profile"]

    def test_needs_credentials(self, anon):
        assert anon.patch(URL, {"first_name": "Grace"}).status_code == 401


class TestMassAssignment:
    """SECURITY-CHECKLIST A7: protected fields in the body are ignored, and the caller gains nothing."""

    HOSTILE = {
        "roles": ["admin", "doctor"],
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
        "is_email_verified": True,
        "email": "hijack@example.org",
        "date_joined": "2000-01-01T00:00:00Z",
        "password": "Another-Str0ng-Passw0rd",
        "groups": [1],
        "user_permissions": [1],
    }

    def test_protected_fields_are_unchanged_in_the_database(self, api):
        person = UserFactory(is_email_verified=False)
        before = User.objects.values().get(pk=person.pk)

        r = api(person).patch(URL, self.HOSTILE)

        assert r.status_code == 200
        after = User.objects.values().get(pk=person.pk)
        assert after == before
        assert list(UserRole.objects.filter(user=person).values_list("role__name", flat=True)) == ["user"]

    def test_the_answer_shows_nothing_gained(self, client_a, user_a):
        data = client_a.patch(URL, self.HOSTILE).json()

        assert data["roles"] == ["user"]
        assert data["email"] == user_a.email

    def test_a_following_admin_call_is_still_forbidden(self, client_a, user_b):
        client_a.patch(URL, self.HOSTILE)

        r = client_a.post(f"/api/v1/auth/users/{user_b.pk}/roles/", {"role": "admin"})

        assert r.status_code == 403
        assert r.json()["error"]["code"] == "permission_denied"

    def test_another_persons_id_in_the_body_changes_only_the_caller(self, client_a, user_a, user_b):
        r = client_a.patch(URL, {"id": str(user_b.pk), "first_name": "Changed"})

        assert r.json()["id"] == str(user_a.pk)
        user_b.refresh_from_db()
        assert user_b.first_name != "Changed"
        user_a.refresh_from_db()
        assert user_a.first_name == "Changed"

    def test_profile_owner_in_the_body_is_ignored(self, client_a, user_a, user_b):
        client_a.patch(URL, {"profile": {"user": str(user_b.pk), "allergies": "penicillin"}})

        assert UserProfile.objects.get(user=user_b).allergies == ""
        assert UserProfile.objects.get(user=user_a).allergies == "penicillin"


class TestDelete:
    def test_with_the_password_answers_204_and_removes_the_account(self, client_a, user_a):
        r = client_a.delete(URL, {"password": PASSWORD})

        assert r.status_code == 204
        assert not User.objects.filter(pk=user_a.pk).exists()
        assert not UserProfile.objects.filter(user_id=user_a.pk).exists()
        assert not UserRole.objects.filter(user_id=user_a.pk).exists()

    def test_access_token_answers_401_afterwards(self, client_a):
        client_a.delete(URL, {"password": PASSWORD})

        r = client_a.get(URL)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_refresh_token_answers_401_afterwards(self, client_a):
        client_a.delete(URL, {"password": PASSWORD})

        assert APIClient().post(REFRESH, {"refresh": client_a.tokens["refresh"]}).status_code == 401

    def test_tokens_of_other_sessions_answer_401_afterwards(self, client_a, user_a):
        other_session = tokens_for_user(user_a)
        client_a.delete(URL, {"password": PASSWORD})

        assert APIClient().post(REFRESH, {"refresh": other_session["refresh"]}).status_code == 401

    def test_no_sign_in_record_naming_the_person_stays_behind(self, client_a, user_a):
        login = "/api/v1/auth/login/"
        APIClient().post(login, {"email": user_a.email, "password": "Not-The-Passw0rd"})
        APIClient().post(login, {"email": user_a.email, "password": PASSWORD})

        client_a.delete(URL, {"password": PASSWORD})

        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            assert not model.objects.filter(username=user_a.email).exists(), model.__name__

    def test_wrong_password_answers_400_and_keeps_the_account(self, client_a, user_a):
        r = client_a.delete(URL, {"password": "Not-The-Passw0rd"})

        assert r.status_code == 400
        assert "password" in r.json()["error"]["fields"]
        assert User.objects.filter(pk=user_a.pk).exists()

    def test_missing_password_answers_400(self, client_a, user_a):
        r = client_a.delete(URL)

        assert r.status_code == 400
        assert User.objects.filter(pk=user_a.pk).exists()

    def test_leaves_other_accounts_alone(self, client_a, user_b):
        client_a.delete(URL, {"password": PASSWORD})

        assert User.objects.filter(pk=user_b.pk).exists()

    def test_needs_credentials(self, anon):
        assert anon.delete(URL, {"password": PASSWORD}).status_code == 401
