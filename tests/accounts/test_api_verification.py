"""E-mail verification: a single-use, expiring token mailed as a `…?token=` link, and resending it."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import EmailVerificationToken, User
from tests.accounts.factories import UnverifiedUserFactory, registration

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-verification/"

pytestmark = pytest.mark.django_db


def mailed_token(message) -> str:
    match = re.search(r"verify-email\?token=([\w-]+)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def registered(anon, mailoutbox, django_capture_on_commit_callbacks):
    """A fresh sign-up and the token its verification e-mail carries."""
    body = registration()
    with django_capture_on_commit_callbacks(execute=True):
        anon.post(REGISTER, body)
    return User.objects.get(email=body["email"]), mailed_token(mailoutbox[-1])


class TestVerifyEmail:
    def test_the_mailed_token_verifies_the_address(self, anon, registered):
        user, token = registered

        r = anon.post(VERIFY, {"token": token})

        assert r.status_code == 200
        user.refresh_from_db()
        assert user.is_email_verified is True

    def test_the_link_points_at_the_frontend(self, registered, mailoutbox):
        _, token = registered

        assert f"{settings.FRONTEND_URL}/verify-email?token={token}" in mailoutbox[-1].body

    def test_only_a_digest_of_the_token_is_stored(self, registered):
        user, token = registered

        stored = EmailVerificationToken.objects.get(user=user)
        assert stored.token_hash != token
        assert token not in stored.token_hash

    def test_a_used_token_answers_400(self, anon, registered):
        _, token = registered
        anon.post(VERIFY, {"token": token})

        r = anon.post(VERIFY, {"token": token})

        assert r.status_code == 400
        assert "token" in r.json()["error"]["fields"]

    def test_an_expired_token_answers_400_and_verifies_nothing(self, anon, registered):
        user, token = registered

        later = timezone.now() + timedelta(hours=settings.EMAIL_VERIFICATION_TTL_HOURS, seconds=1)
        with freeze_time(later):
            r = anon.post(VERIFY, {"token": token})

        assert r.status_code == 400
        user.refresh_from_db()
        assert user.is_email_verified is False

    def test_an_unknown_token_answers_400(self, anon, db):
        r = anon.post(VERIFY, {"token": "made-up-token"})

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"

    def test_a_missing_token_answers_400_on_token(self, anon, db):
        r = anon.post(VERIFY, {})

        assert r.status_code == 400
        assert "token" in r.json()["error"]["fields"]


class TestResendVerification:
    @pytest.fixture
    def resend(self, api, django_capture_on_commit_callbacks):
        def resend(user):
            with django_capture_on_commit_callbacks(execute=True):
                return api(user).post(RESEND)

        return resend

    def test_mails_a_new_link(self, resend, mailoutbox):
        person = UnverifiedUserFactory()

        r = resend(person)

        assert r.status_code == 200
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == [person.email]
        mailed_token(mailoutbox[0])

    def test_the_earlier_token_stops_working(self, anon, resend, registered, mailoutbox):
        user, first = registered

        resend(user)

        assert anon.post(VERIFY, {"token": first}).status_code == 400
        assert anon.post(VERIFY, {"token": mailed_token(mailoutbox[-1])}).status_code == 200

    def test_an_already_verified_address_gets_no_mail(self, resend, user_a, mailoutbox):
        r = resend(user_a)

        assert r.status_code == 200
        assert mailoutbox == []

    def test_needs_credentials(self, anon, db):
        r = anon.post(RESEND)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"
