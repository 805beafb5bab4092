"""POST /api/v1/auth/register/: a new account with the `user` role, tokens, and a verification e-mail."""

import pytest

from accounts.models import EmailVerificationToken, User, UserProfile
from tests.accounts.factories import PASSWORD, UserFactory, registration

URL = "/api/v1/auth/register/"
ME = "/api/v1/auth/current-user/"

pytestmark = pytest.mark.django_db


class TestRegistration:
    def test_answers_201_with_user_tokens_and_message(self, anon):
        body = registration(email="ada@example.org", username="ada")

        r = anon.post(URL, body)

        assert r.status_code == 201
        data = r.json()
        assert set(data) == {"user", "tokens", "message"}
        assert set(data["tokens"]) == {"access", "refresh"}
        assert data["user"]["email"] == "ada@example.org"
        assert data["user"]["roles"] == ["user"]
        assert data["user"]["is_email_verified"] is False

    def test_stores_the_account_with_an_empty_profile_and_the_user_role(self, anon):
        r = anon.post(URL, registration(email="ada@example.org", phone_number="+44 20 7946 0958"))

        user = User.objects.get(email="ada@example.org")
        assert str(user.pk) == r.json()["user"]["id"]
        assert user.phone_number == "+44 20 7946 0958"
        assert user.check_password(PASSWORD)
        assert UserProfile.objects.filter(user=user, timezone="UTC").exists()
        assert list(user.user_roles.values_list("role__name", flat=True)) == ["user"]

    def test_stores_the_email_lower_cased(self, anon):
        anon.post(URL, registration(email="Ada.Lovelace@Example.ORG"))

        assert User.objects.filter(email="ada.lovelace@example.org").exists()

    def test_returned_access_token_works(self, anon):
        tokens = anon.post(URL, registration()).json()["tokens"]

        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        assert anon.get(ME).status_code == 200

    def test_ignores_privileged_fields_in_the_body(self, anon):
        body = registration(is_staff=True, is_superuser=True, is_email_verified=True, roles=["admin"])

        r = anon.post(URL, body)

        assert r.status_code == 201
        user = User.objects.get(email=body["email"])
        assert (user.is_staff, user.is_superuser, user.is_email_verified) == (False, False, False)
        assert r.json()["user"]["roles"] == ["user"]


class TestVerificationMail:
    def test_sends_one_mail_with_a_token_link_after_commit(self, anon, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            anon.post(URL, registration(email="ada@example.org"))

        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["ada@example.org"]
        assert "verify-email?token=" in mailoutbox[0].body
        assert EmailVerificationToken.objects.filter(user__email="ada@example.org").count() == 1

    def test_sends_nothing_when_the_registration_fails(self, anon, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            anon.post(URL, registration(password="short", password_confirm="short"))

        assert mailoutbox == []


class TestDuplicates:
    def test_email_already_registered_answers_400_on_email(self, anon):
        UserFactory(email="ada@example.org")

        r = anon.post(URL, registration(email="ada@example.org"))

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"
        assert "email" in r.json()["error"]["fields"]

    def test_email_is_compared_case_insensitively(self, anon):
        UserFactory(email="ada@example.org")

        r = anon.post(URL, registration(email="ADA@Example.org"))

        assert r.status_code == 400
        assert "email" in r.json()["error"]["fields"]
        assert User.objects.filter(email__iexact="ada@example.org").count() == 1

    def test_username_taken_in_another_case_answers_400_on_username(self, anon):
        UserFactory(username="ada")

        r = anon.post(URL, registration(username="ADA"))

        assert r.status_code == 400
        assert "username" in r.json()["error"]["fields"]


class TestValidation:
    @pytest.mark.parametrize("password", ["short1A!", "password123", "123456789012345", "newcomer-example"])
    def test_weak_password_answers_400_on_password(self, anon, password):
        r = anon.post(
            URL, registration(email="newcomer-example@example.org", password=password, password_confirm=password)
        )

        assert r.status_code == 400
        assert "password" in r.json()["error"]["fields"]
        assert not User.objects.filter(email="newcomer-example@example.org").exists()

    def test_passwords_that_differ_answer_400_on_password_confirm(self, anon):
        r = anon.post(URL, registration(password_confirm="Another-Good-Passw0rd"))

        assert r.status_code == 400
        assert "password_confirm" in r.json()["error"]["fields"]

    def test_missing_fields_are_listed_in_the_envelope(self, anon):
        r = anon.post(URL, {"email": "ada@example.org"})

        assert r.status_code == 400
        fields = r.json()["error"]["fields"]
        assert {"username", "first_name", "last_name", "password", "password_confirm"} <= set(fields)

    def test_invalid_email_answers_400_on_email(self, anon):
        r = anon.post(URL, registration(email="not-an-address"))

        assert r.status_code == 400
        assert "email" in r.json()["error"]["fields"]

    def test_oversized_name_answers_400_on_the_field(self, anon):
        r = anon.post(URL, registration(first_name="A" * 100_000))

        assert r.status_code == 400
        assert "first_name" in r.json()["error"]["fields"]
