"""Rate limits: the tight `auth` scope per IP and per e-mail on the ways in, `anon` and `user` elsewhere; 429s
carry Retry-After. DRF reads the rates when its throttle class is defined, so tests patch the class attribute."""

from unittest import mock

import pytest
from rest_framework.throttling import SimpleRateThrottle

from jeghealth_backend.settings import base
from tests.accounts.factories import PASSWORD, registration

LOGIN = "/api/v1/auth/login/"
REGISTER = "/api/v1/auth/register/"
RESET = "/api/v1/auth/password-reset/"
RESEND = "/api/v1/auth/resend-verification/"
VERIFY = "/api/v1/auth/verify-email/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/current-user/"

pytestmark = pytest.mark.django_db

RATES = {"auth": "3/min", "anon": "3/min", "user": "3/min", "device": "3/min"}


@pytest.fixture(autouse=True)
def tight_rates():
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", RATES):
        yield


def from_ip(ip: str) -> dict:
    return {"REMOTE_ADDR": ip}


class TestAuthScopePerIP:
    def test_fourth_login_from_one_ip_answers_429(self, anon, user_a):
        statuses = [anon.post(LOGIN, {"email": f"p{i}@example.org", "password": "x"}).status_code for i in range(3)]

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert statuses == [401, 401, 401]
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "throttled"

    def test_answer_carries_retry_after_in_whole_seconds(self, anon):
        for i in range(3):
            anon.post(LOGIN, {"email": f"p{i}@example.org", "password": "x"})

        r = anon.post(LOGIN, {"email": "p9@example.org", "password": "x"})

        assert 1 <= int(r["Retry-After"]) <= 60

    def test_another_ip_is_not_limited(self, anon, user_a):
        for i in range(3):
            anon.post(LOGIN, {"email": f"p{i}@example.org", "password": "x"})

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}, **from_ip("203.0.113.9"))

        assert r.status_code == 200

    def test_register_is_limited(self, anon):
        statuses = [anon.post(REGISTER, registration()).status_code for _ in range(4)]

        assert statuses == [201, 201, 201, 429]

    def test_password_reset_is_limited(self, anon):
        statuses = [anon.post(RESET, {"email": f"p{i}@example.org"}).status_code for i in range(4)]

        assert statuses == [200, 200, 200, 429]

    def test_verify_email_is_limited(self, anon):
        statuses = [anon.post(VERIFY, {"token": f"guess-{i}"}).status_code for i in range(4)]

        assert statuses == [400, 400, 400, 429]


class TestAuthScopePerEmail:
    def test_one_address_from_many_ips_is_limited(self, anon, user_a):
        for i in range(3):
            anon.post(LOGIN, {"email": user_a.email, "password": "x"}, **from_ip(f"198.51.100.{i}"))

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}, **from_ip("198.51.100.99"))

        assert r.status_code == 429

    def test_the_address_is_counted_whatever_its_case(self, anon, user_a):
        for i, email in enumerate([user_a.email, user_a.email.upper(), user_a.email.title()]):
            anon.post(RESET, {"email": email}, **from_ip(f"198.51.100.{i}"))

        r = anon.post(RESET, {"email": user_a.email}, **from_ip("198.51.100.99"))

        assert r.status_code == 429

    def test_resend_verification_is_limited_per_account(self, api, user_a):
        client = api(user_a)
        statuses = [client.post(RESEND, **from_ip(f"198.51.100.{i}")).status_code for i in range(4)]

        assert statuses == [200, 200, 200, 429]


class TestGeneralScopes:
    def test_anonymous_calls_are_limited_by_the_anon_rate(self, anon):
        statuses = [anon.post(REFRESH, {"refresh": "x"}).status_code for _ in range(4)]

        assert statuses == [401, 401, 401, 429]

    def test_authenticated_calls_are_limited_by_the_user_rate(self, client_a):
        statuses = [client_a.get(ME).status_code for _ in range(4)]

        assert statuses == [200, 200, 200, 429]
        assert "Retry-After" in client_a.get(ME)

    def test_the_user_rate_is_per_person(self, client_a, client_b):
        for _ in range(3):
            client_a.get(ME)

        assert client_b.get(ME).status_code == 200


class TestConfiguredRates:
    def test_auth_scope_is_tight_and_general_scopes_exist(self):
        rates = base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        assert rates["auth"] == "10/min"
        assert {"anon", "user", "device"} <= set(rates)
