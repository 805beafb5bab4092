"""Token life cycle: refresh with rotation, logout, and every way a token stops working (401, never 500)."""

import threading
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.services import tokens_for_user
from accounts.tasks import flush_expired_tokens
from tests.accounts.factories import PASSWORD, UserFactory

REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
LOGIN = "/api/v1/auth/login/"
ME = "/api/v1/auth/current-user/"

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.mark.django_db
class TestRefresh:
    def test_answers_a_new_access_and_refresh_token(self, anon, user_a):
        old = tokens_for_user(user_a)

        r = anon.post(REFRESH, {"refresh": old["refresh"]})

        assert r.status_code == 200
        assert set(r.json()) == {"access", "refresh"}
        assert r.json()["refresh"] != old["refresh"]

    def test_new_access_token_works(self, anon, user_a):
        access = anon.post(REFRESH, {"refresh": tokens_for_user(user_a)["refresh"]}).json()["access"]

        assert bearer(access).get(ME).status_code == 200

    def test_reused_refresh_token_answers_401(self, anon, user_a):
        first = tokens_for_user(user_a)["refresh"]
        anon.post(REFRESH, {"refresh": first})

        r = anon.post(REFRESH, {"refresh": first})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_rotated_refresh_token_works_once(self, anon, user_a):
        second = anon.post(REFRESH, {"refresh": tokens_for_user(user_a)["refresh"]}).json()["refresh"]

        assert anon.post(REFRESH, {"refresh": second}).status_code == 200
        assert anon.post(REFRESH, {"refresh": second}).status_code == 401

    def test_rotation_blacklists_the_old_token(self, anon, user_a):
        first = tokens_for_user(user_a)["refresh"]
        anon.post(REFRESH, {"refresh": first})

        jti = RefreshToken(first, verify=False)["jti"]
        assert BlacklistedToken.objects.filter(token__jti=jti).exists()

    def test_access_token_in_place_of_a_refresh_token_answers_401(self, anon, user_a):
        r = anon.post(REFRESH, {"refresh": tokens_for_user(user_a)["access"]})

        assert r.status_code == 401

    def test_garbage_answers_401(self, anon):
        r = anon.post(REFRESH, {"refresh": "not.a.token"})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_missing_refresh_answers_400_on_refresh(self, anon):
        r = anon.post(REFRESH, {})

        assert r.status_code == 400
        assert "refresh" in r.json()["error"]["fields"]

    def test_expired_refresh_token_answers_401(self, anon, user_a):
        refresh = tokens_for_user(user_a)["refresh"]

        with freeze_time(timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(seconds=1)):
            r = anon.post(REFRESH, {"refresh": refresh})

        assert r.status_code == 401


@pytest.mark.django_db
class TestLogout:
    def test_answers_205(self, client_a):
        r = client_a.post(LOGOUT, {"refresh": client_a.tokens["refresh"]})

        assert r.status_code == 205

    def test_logged_out_refresh_token_answers_401(self, anon, client_a):
        client_a.post(LOGOUT, {"refresh": client_a.tokens["refresh"]})

        r = anon.post(REFRESH, {"refresh": client_a.tokens["refresh"]})

        assert r.status_code == 401

    def test_needs_an_access_token(self, anon, user_a):
        r = anon.post(LOGOUT, {"refresh": tokens_for_user(user_a)["refresh"]})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_another_persons_refresh_token_answers_400_and_keeps_working(self, anon, client_a, user_b):
        theirs = tokens_for_user(user_b)["refresh"]

        r = client_a.post(LOGOUT, {"refresh": theirs})

        assert r.status_code == 400
        assert "refresh" in r.json()["error"]["fields"]
        assert anon.post(REFRESH, {"refresh": theirs}).status_code == 200

    def test_signing_in_again_afterwards_gives_a_working_pair(self, anon, client_a, user_a):
        client_a.post(LOGOUT, {"refresh": client_a.tokens["refresh"]})

        tokens = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}).json()["tokens"]

        assert anon.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 200

    def test_an_invalid_refresh_token_answers_400(self, client_a):
        r = client_a.post(LOGOUT, {"refresh": "not.a.token"})

        assert r.status_code == 400
        assert "refresh" in r.json()["error"]["fields"]


@pytest.mark.django_db
class TestDeactivatedAndDeletedUsers:
    def test_deactivated_users_access_token_answers_401(self, user_a):
        tokens = tokens_for_user(user_a)
        user_a.is_active = False
        user_a.save(update_fields=["is_active"])

        r = bearer(tokens["access"]).get(ME)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_deactivated_users_refresh_token_answers_401(self, anon, user_a):
        tokens = tokens_for_user(user_a)
        user_a.is_active = False
        user_a.save(update_fields=["is_active"])

        r = anon.post(REFRESH, {"refresh": tokens["refresh"]})

        assert r.status_code == 401

    def test_deleted_users_access_token_answers_401(self, user_a):
        tokens = tokens_for_user(user_a)
        user_a.delete()

        r = bearer(tokens["access"]).get(ME)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"

    def test_deleted_users_refresh_token_answers_401(self, anon, user_a):
        tokens = tokens_for_user(user_a)
        user_a.delete()

        r = anon.post(REFRESH, {"refresh": tokens["refresh"]})

        assert r.status_code == 401


@pytest.mark.django_db
class TestForgedAndMisusedAccessTokens:
    """SECURITY-CHECKLIST A5: everything but a genuine, live access token in the header is a 401."""

    def _claims(self, user) -> dict:
        return jwt.decode(tokens_for_user(user)["access"], options={"verify_signature": False})

    def test_unsigned_token_answers_401(self, user_a):
        forged = jwt.encode(self._claims(user_a), key=None, algorithm="none")

        assert bearer(forged).get(ME).status_code == 401

    def test_token_signed_with_another_key_answers_401(self, user_a):
        forged = jwt.encode(self._claims(user_a), key="not-the-signing-key-" * 3, algorithm="HS256")

        assert bearer(forged).get(ME).status_code == 401

    def test_token_with_a_tampered_user_id_answers_401(self, user_a, user_b):
        header, _, signature = tokens_for_user(user_a)["access"].split(".")
        claims = {**self._claims(user_a), "user_id": str(user_b.pk)}
        payload = jwt.encode(claims, key="an-unrelated-key-of-sufficient-length-0123", algorithm="HS256").split(".")[1]

        r = bearer(f"{header}.{payload}.{signature}").get(ME)

        assert r.status_code == 401

    def test_expired_access_token_answers_401(self, user_a):
        access = tokens_for_user(user_a)["access"]

        with freeze_time(timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1)):
            r = bearer(access).get(ME)

        assert r.status_code == 401

    def test_refresh_token_used_as_access_token_answers_401(self, user_a):
        assert bearer(tokens_for_user(user_a)["refresh"]).get(ME).status_code == 401

    def test_access_token_in_the_query_string_is_not_accepted(self, anon, user_a):
        r = anon.get(ME, {"token": tokens_for_user(user_a)["access"]})

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_missing_credentials_answer_401_with_www_authenticate(self, anon, db):
        r = anon.get(ME)

        assert r.status_code == 401
        assert r["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
class TestFlushExpiredTokens:
    def test_task_drops_expired_tokens_and_keeps_live_ones(self, user_a):
        live = tokens_for_user(user_a)["refresh"]
        with freeze_time(timezone.now() - settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] - timedelta(days=1)):
            tokens_for_user(user_a)

        flush_expired_tokens.delay()

        remaining = list(OutstandingToken.objects.filter(user=user_a).values_list("jti", flat=True))
        assert remaining == [RefreshToken(live, verify=False)["jti"]]

    def test_is_scheduled_daily(self):
        tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

        assert "accounts.flush_expired_tokens" in tasks


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locking and concurrent connections; CI runs it")
@pytest.mark.django_db(transaction=True)
class TestConcurrentRefresh:
    def test_of_two_concurrent_refreshes_of_one_token_one_wins_and_the_other_answers_401(self):
        user = UserFactory()
        refresh = tokens_for_user(user)["refresh"]
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def refresh_once() -> None:
            try:
                client = APIClient()
                barrier.wait(timeout=10)
                statuses.append(client.post(REFRESH, {"refresh": refresh}).status_code)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=refresh_once) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert sorted(statuses) == [200, 401]
        assert BlacklistedToken.objects.filter(token__jti=RefreshToken(refresh, verify=False)["jti"]).count() == 1
