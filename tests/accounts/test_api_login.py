"""POST /api/v1/auth/login/: e-mail and password in, `{"user", "tokens"}` out; one answer for every failure."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import override_settings

from accounts.models import User
from jeghealth_backend.settings import base
from tests.accounts.factories import PASSWORD, UserFactory

URL = "/api/v1/auth/login/"
ME = "/api/v1/auth/current-user/"

pytestmark = pytest.mark.django_db


class TestLogin:
    def test_answers_200_with_user_and_tokens(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 200
        data = r.json()
        assert set(data) == {"user", "tokens"}
        assert set(data["tokens"]) == {"access", "refresh"}
        assert data["user"]["id"] == str(user_a.pk)
        assert data["user"]["roles"] == ["user"]

    def test_access_token_authenticates_the_user(self, anon, user_a):
        access = anon.post(URL, {"email": user_a.email, "password": PASSWORD}).json()["tokens"]["access"]

        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        r = anon.get(ME)

        assert r.status_code == 200
        assert r.json()["email"] == user_a.email

    def test_email_is_matched_case_insensitively(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email.upper(), "password": PASSWORD})

        assert r.status_code == 200

    def test_records_the_last_login(self, anon, user_a):
        anon.post(URL, {"email": user_a.email, "password": PASSWORD})

        user_a.refresh_from_db()
        assert user_a.last_login is not None

    def test_answer_holds_no_password_hash(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email, "password": PASSWORD})

        user_a.refresh_from_db()
        assert user_a.password not in r.content.decode()
        assert "password" not in r.json()["user"]

    def test_answer_is_not_cacheable(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email, "password": PASSWORD})

        assert "no-store" in r["Cache-Control"]


class TestFailures:
    def test_wrong_password_answers_401(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email, "password": "Not-The-Passw0rd"})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"
        assert "tokens" not in r.json()

    def test_unknown_email_and_wrong_password_answer_the_same(self, anon, user_a):
        wrong_password = anon.post(URL, {"email": user_a.email, "password": "Not-The-Passw0rd"})
        unknown_email = anon.post(URL, {"email": "nobody@example.org", "password": "Not-The-Passw0rd"})

        assert wrong_password.status_code == unknown_email.status_code == 401
        assert wrong_password.json() == unknown_email.json()

    def test_deactivated_account_answers_401_like_a_wrong_password(self, anon):
        inactive = UserFactory(is_active=False)

        r = anon.post(URL, {"email": inactive.email, "password": PASSWORD})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_missing_password_answers_400_on_password(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email})

        assert r.status_code == 400
        assert "password" in r.json()["error"]["fields"]

    def test_form_encoded_body_answers_415(self, anon, user_a):
        r = anon.post(URL, {"email": user_a.email, "password": PASSWORD}, format="multipart")

        assert r.status_code == 415
        assert r.json()["error"]["code"] == "unsupported_media_type"


class TestPasswordHashing:
    """Argon2 in deployments; the test settings use MD5 for speed, so these tests put the real list back."""

    def test_base_settings_put_argon2_first_and_keep_pbkdf2_for_upgrades(self):
        assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
        assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in base.PASSWORD_HASHERS

    @override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
    def test_a_registered_password_is_hashed_with_argon2(self, anon):
        body = {
            "email": "ada@example.org",
            "username": "ada",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        anon.post("/api/v1/auth/register/", body)

        assert User.objects.get(email="ada@example.org").password.startswith("argon2")

    @override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
    def test_a_pbkdf2_hash_is_upgraded_to_argon2_on_login(self, anon, user_a):
        # Few iterations keep the test fast; the stored hash names its own iteration count.
        legacy = PBKDF2PasswordHasher().encode(PASSWORD, "legacysalt", iterations=1000)
        User.objects.filter(pk=user_a.pk).update(password=legacy)

        r = anon.post(URL, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 200
        user_a.refresh_from_db()
        assert user_a.password.startswith("argon2")

    @override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
    def test_tokens_issued_at_the_upgrading_login_work(self, anon, user_a):
        legacy = PBKDF2PasswordHasher().encode(PASSWORD, "legacysalt", iterations=1000)
        User.objects.filter(pk=user_a.pk).update(password=legacy)

        access = anon.post(URL, {"email": user_a.email, "password": PASSWORD}).json()["tokens"]["access"]
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

        assert anon.get(ME).status_code == 200
