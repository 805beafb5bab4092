"""django-axes on login: five wrong passwords lock the account, whatever the sixth attempt sends."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import SecurityEvent
from tests.accounts.factories import PASSWORD

LOGIN = "/api/v1/auth/login/"
WRONG = "Not-The-Passw0rd"

pytestmark = pytest.mark.django_db


def fail(client, email: str, times: int) -> list[int]:
    return [client.post(LOGIN, {"email": email, "password": WRONG}).status_code for _ in range(times)]


class TestLockout:
    def test_each_of_the_first_five_wrong_passwords_answers_401(self, anon, user_a):
        assert fail(anon, user_a.email, settings.AXES_FAILURE_LIMIT) == [401] * 5

    def test_the_sixth_attempt_with_the_right_password_answers_429_account_locked(self, anon, user_a):
        fail(anon, user_a.email, 5)

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 429
        assert r.json()["error"]["code"] == "account_locked"
        assert "tokens" not in r.json()

    def test_the_locked_answer_says_when_to_retry(self, anon, user_a):
        fail(anon, user_a.email, 5)

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert int(r["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())

    def test_the_lock_is_recorded_as_a_security_event(self, anon, user_a):
        fail(anon, user_a.email, 5)

        anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert SecurityEvent.objects.filter(event_type="locked_out", identifier=user_a.email).count() == 1

    def test_the_lock_follows_the_address_whatever_its_case(self, anon, user_a):
        fail(anon, user_a.email.upper(), 5)

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 429

    def test_another_account_from_the_same_ip_is_not_locked(self, anon, user_a, user_b):
        fail(anon, user_a.email, 5)

        r = anon.post(LOGIN, {"email": user_b.email, "password": PASSWORD})

        assert r.status_code == 200

    def test_a_success_clears_earlier_failures(self, anon, user_a):
        fail(anon, user_a.email, 4)
        assert anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}).status_code == 200

        fail(anon, user_a.email, 4)

        assert anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}).status_code == 200

    def test_login_works_again_after_the_cool_off(self, anon, user_a):
        fail(anon, user_a.email, 5)

        with freeze_time(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)):
            r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 200

    def test_login_works_again_after_axes_reset(self, anon, user_a):
        fail(anon, user_a.email, 5)

        call_command("axes_reset", verbosity=0)

        assert anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}).status_code == 200

    def test_an_unknown_address_locks_without_revealing_that_it_is_unknown(self, anon):
        statuses = fail(anon, "nobody@example.org", 6)

        assert statuses == [401] * 5 + [429]
