"""Change password, and reset it through an e-mailed link: every token issued before stops working."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_for_user
from tests.accounts.factories import PASSWORD

CHANGE = "/api/v1/auth/change-password/"
RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/current-user/"
NEW_PASSWORD = "Fresh-Lime-Kettle-42"

pytestmark = pytest.mark.django_db


def change_body(**overrides) -> dict:
    return {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD, **overrides}


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


class TestChangePassword:
    def test_answers_200_with_a_fresh_working_token_pair(self, client_a):
        r = client_a.post(CHANGE, change_body())

        assert r.status_code == 200
        tokens = r.json()["tokens"]
        assert bearer(tokens["access"]).get(ME).status_code == 200
        assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 200

    def test_stores_the_new_password(self, client_a, user_a):
        client_a.post(CHANGE, change_body())

        user_a.refresh_from_db()
        assert user_a.check_password(NEW_PASSWORD)
        assert not user_a.check_password(PASSWORD)

    def test_earlier_access_token_answers_401(self, client_a):
        client_a.post(CHANGE, change_body())

        r = client_a.get(ME)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_earlier_refresh_token_answers_401(self, client_a):
        client_a.post(CHANGE, change_body())

        assert APIClient().post(REFRESH, {"refresh": client_a.tokens["refresh"]}).status_code == 401

    def test_tokens_of_other_sessions_answer_401(self, client_a, user_a):
        phone = tokens_for_user(user_a)
        client_a.post(CHANGE, change_body())

        assert bearer(phone["access"]).get(ME).status_code == 401
        assert APIClient().post(REFRESH, {"refresh": phone["refresh"]}).status_code == 401

    def test_wrong_old_password_answers_400_on_old_password(self, client_a, user_a):
        r = client_a.post(CHANGE, change_body(old_password="Not-The-Passw0rd"))

        assert r.status_code == 400
        assert "old_password" in r.json()["error"]["fields"]
        user_a.refresh_from_db()
        assert user_a.check_password(PASSWORD)

    def test_passwords_that_differ_answer_400_on_new_password_confirm(self, client_a):
        r = client_a.post(CHANGE, change_body(new_password_confirm="Other-Lime-Kettle-42"))

        assert r.status_code == 400
        assert "new_password_confirm" in r.json()["error"]["fields"]

    @pytest.mark.parametrize("weak", ["short", "password1234", "123456789012345"])
    def test_weak_new_password_answers_400_on_new_password(self, client_a, weak):
        r = client_a.post(CHANGE, change_body(new_password=weak, new_password_confirm=weak))

        assert r.status_code == 400
        assert "new_password" in r.json()["error"]["fields"]

    def test_needs_credentials(self, anon):
        r = anon.post(CHANGE, change_body())

        assert r.status_code == 401


def reset_link(mailoutbox) -> tuple[str, str]:
    match = re.search(r"\?uid=([\w-]+)&token=([\w-]+)", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return match.group(1), match.group(2)


@pytest.fixture
def request_reset(anon, mailoutbox, django_capture_on_commit_callbacks):
    def request(email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return anon.post(RESET, {"email": email})

    return request


class TestPasswordResetRequest:
    def test_mails_a_link_with_uid_and_token(self, request_reset, mailoutbox, user_a):
        r = request_reset(user_a.email)

        assert r.status_code == 200
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == [user_a.email]
        assert mailoutbox[0].body.count(settings.FRONTEND_URL) == 1
        reset_link(mailoutbox)

    def test_unknown_address_answers_the_same_and_mails_nothing(self, request_reset, mailoutbox, user_a):
        known = request_reset(user_a.email)
        mailoutbox.clear()

        unknown = request_reset("nobody@example.org")

        assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
        assert mailoutbox == []

    def test_address_is_matched_case_insensitively(self, request_reset, mailoutbox, user_a):
        request_reset(user_a.email.upper())

        assert mailoutbox[0].to == [user_a.email]

    def test_invalid_address_answers_400_on_email(self, anon):
        r = anon.post(RESET, {"email": "not-an-address"})

        assert r.status_code == 400
        assert "email" in r.json()["error"]["fields"]


class TestPasswordResetConfirm:
    def test_sets_the_new_password(self, anon, request_reset, mailoutbox, user_a):
        request_reset(user_a.email)
        uid, token = reset_link(mailoutbox)

        r = anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})

        assert r.status_code == 200
        assert anon.post(LOGIN, {"email": user_a.email, "password": NEW_PASSWORD}).status_code == 200

    def test_earlier_access_and_refresh_tokens_answer_401(self, anon, request_reset, mailoutbox, user_a):
        earlier = tokens_for_user(user_a)
        request_reset(user_a.email)
        uid, token = reset_link(mailoutbox)

        anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})

        assert bearer(earlier["access"]).get(ME).status_code == 401
        assert APIClient().post(REFRESH, {"refresh": earlier["refresh"]}).status_code == 401

    def test_the_link_works_once(self, anon, request_reset, mailoutbox, user_a):
        request_reset(user_a.email)
        uid, token = reset_link(mailoutbox)
        anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})

        r = anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": "Second-Lime-Kettle-43"})

        assert r.status_code == 400
        assert "token" in r.json()["error"]["fields"]
        user_a.refresh_from_db()
        assert user_a.check_password(NEW_PASSWORD)

    def test_an_expired_link_answers_400(self, anon, request_reset, mailoutbox, user_a):
        request_reset(user_a.email)
        uid, token = reset_link(mailoutbox)

        with freeze_time(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
            r = anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})

        assert r.status_code == 400
        assert "token" in r.json()["error"]["fields"]

    def test_a_token_for_another_user_answers_400(self, anon, request_reset, mailoutbox, user_a, user_b):
        request_reset(user_a.email)
        _, token = reset_link(mailoutbox)
        request_reset(user_b.email)
        uid_b, _ = reset_link(mailoutbox)

        r = anon.post(CONFIRM, {"uid": uid_b, "token": token, "new_password": NEW_PASSWORD})

        assert r.status_code == 400
        user_b.refresh_from_db()
        assert user_b.check_password(PASSWORD)

    @pytest.mark.parametrize("uid", ["", "not-base64!", "MTIz", "A" * 64])
    def test_a_malformed_uid_answers_400_never_500(self, anon, uid):
        r = anon.post(CONFIRM, {"uid": uid, "token": "abc-def", "new_password": NEW_PASSWORD})

        assert r.status_code == 400

    def test_a_weak_new_password_answers_400_and_keeps_the_link_usable(self, anon, request_reset, mailoutbox, user_a):
        request_reset(user_a.email)
        uid, token = reset_link(mailoutbox)

        weak = anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": "password"})
        strong = anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})

        assert weak.status_code == 400
        assert "new_password" in weak.json()["error"]["fields"]
        assert strong.status_code == 200

    def test_a_deactivated_account_cannot_reset(self, anon, request_reset, mailoutbox, user_a):
        request_reset(user_a.email)
        uid, token = reset_link(mailoutbox)
        User.objects.filter(pk=user_a.pk).update(is_active=False)

        r = anon.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})

        assert r.status_code == 400
