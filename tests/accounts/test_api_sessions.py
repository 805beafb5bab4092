"""GET auth/sessions/ and DELETE auth/sessions/{id}/: one session per refresh-token family, ended at once."""

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import SessionJWTAuthentication
from accounts.choices import SecurityEventType
from accounts.models import AuthSession, SecurityEvent
from accounts.tasks import flush_expired_tokens
from tests.accounts.factories import PASSWORD, UserFactory
from tests.conftest import client_for

SESSIONS = "/api/v1/auth/sessions/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/current-user/"

pytestmark = pytest.mark.django_db


def login(user, agent: str = "JEGHealth/1.0 (iPhone)", ip: str = "198.51.100.7") -> APIClient:
    client = APIClient()
    r = client.post(LOGIN, {"email": user.email, "password": PASSWORD}, HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    client.tokens = r.json()["tokens"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.tokens['access']}")
    return client


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


class TestList:
    def test_lists_one_session_per_sign_in_with_the_current_one_marked(self, user_a):
        phone = login(user_a, agent="JEGHealth/1.0 (iPhone)")
        login(user_a, agent="Mozilla/5.0 (dashboard)", ip="203.0.113.9")

        r = phone.get(SESSIONS)

        assert r.status_code == 200 and r.json()["count"] == 2
        rows = {row["user_agent"]: row for row in r.json()["results"]}
        assert set(rows["JEGHealth/1.0 (iPhone)"]) == {
            "id",
            "created_at",
            "last_used_at",
            "user_agent",
            "ip_address",
            "current",
        }
        assert rows["JEGHealth/1.0 (iPhone)"]["current"] is True
        assert rows["Mozilla/5.0 (dashboard)"]["current"] is False
        assert rows["Mozilla/5.0 (dashboard)"]["ip_address"] == "203.0.113.9"

    def test_a_refresh_continues_the_same_session(self, anon, user_a):
        phone = login(user_a)
        before = AuthSession.objects.get(user=user_a)

        fresh = anon.post(REFRESH, {"refresh": phone.tokens["refresh"]}).json()
        listed = bearer(fresh["access"]).get(SESSIONS).json()

        assert listed["count"] == 1 and listed["results"][0]["id"] == str(before.pk)
        assert listed["results"][0]["current"] is True
        after = AuthSession.objects.get(pk=before.pk)
        assert after.last_used_at >= before.last_used_at and after.refresh_jti != before.refresh_jti

    def test_shows_nobody_elses_sessions(self, user_a, user_b):
        login(user_b)

        r = login(user_a).get(SESSIONS)

        assert r.json()["count"] == 1

    def test_answers_401_without_credentials(self, anon):
        assert anon.get(SESSIONS).status_code == 401

    def test_the_list_takes_a_fixed_number_of_queries(self, user_a, django_assert_max_num_queries):
        phone = login(user_a)
        for _ in range(5):
            login(user_a)

        with django_assert_max_num_queries(3):  # authentication, count, page
            r = phone.get(SESSIONS)

        assert r.json()["count"] == 6

    def test_the_token_rows_keep_no_token_text(self, user_a):
        phone = login(user_a)

        stored = list(OutstandingToken.objects.filter(user=user_a).values_list("token", flat=True))
        assert stored == [""] and phone.tokens["refresh"] not in stored


class TestEnd:
    def test_ends_a_session_at_once_for_its_access_and_refresh_tokens(self, anon, user_a):
        phone, laptop = login(user_a), login(user_a)
        laptop_session = AuthSession.objects.filter(user=user_a).order_by("created_at").last()

        r = phone.delete(f"{SESSIONS}{laptop_session.pk}/")

        assert r.status_code == 204
        assert laptop.get(ME).status_code == 401
        assert anon.post(REFRESH, {"refresh": laptop.tokens["refresh"]}).status_code == 401
        assert phone.get(ME).status_code == 200
        assert AuthSession.objects.get(pk=laptop_session.pk).ended_at is not None
        event = SecurityEvent.objects.get(user=user_a, event_type=SecurityEventType.SESSION_ENDED)
        assert event.metadata == {"session_id": str(laptop_session.pk)}

    def test_access_tokens_issued_by_earlier_rotations_stop_too(self, anon, user_a):
        laptop = login(user_a)
        rotated = anon.post(REFRESH, {"refresh": laptop.tokens["refresh"]}).json()
        session = AuthSession.objects.get(user=user_a)

        login(user_a).delete(f"{SESSIONS}{session.pk}/")

        assert laptop.get(ME).status_code == 401
        assert bearer(rotated["access"]).get(ME).status_code == 401
        assert anon.post(REFRESH, {"refresh": rotated["refresh"]}).status_code == 401

    def test_signing_out_everywhere_else_is_a_delete_of_each(self, user_a):
        others = [login(user_a) for _ in range(3)]
        current = login(user_a)

        for row in current.get(SESSIONS).json()["results"]:
            if not row["current"]:
                assert current.delete(f"{SESSIONS}{row['id']}/").status_code == 204

        assert [other.get(ME).status_code for other in others] == [401] * 3
        assert current.get(ME).status_code == 200
        assert current.get(SESSIONS).json()["count"] == 1

    def test_ending_the_current_session_signs_this_client_out(self, user_a):
        phone = login(user_a)
        session = AuthSession.objects.get(user=user_a)

        assert phone.delete(f"{SESSIONS}{session.pk}/").status_code == 204
        assert phone.get(ME).status_code == 401

    def test_another_persons_session_answers_404_and_stays_live(self, user_a, user_b):
        theirs = login(user_b)
        their_session = AuthSession.objects.get(user=user_b)

        r = login(user_a).delete(f"{SESSIONS}{their_session.pk}/")

        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert theirs.get(ME).status_code == 200

    def test_an_ended_session_answers_404(self, user_a):
        phone = login(user_a)
        other = login(user_a)
        session = AuthSession.objects.filter(user=user_a).order_by("created_at").first()
        other.delete(f"{SESSIONS}{session.pk}/")

        assert other.delete(f"{SESSIONS}{session.pk}/").status_code == 404
        assert phone.get(ME).status_code == 401

    def test_answers_401_without_credentials(self, anon, user_a):
        login(user_a)
        session = AuthSession.objects.get(user=user_a)

        assert anon.delete(f"{SESSIONS}{session.pk}/").status_code == 401
        assert AuthSession.objects.get(pk=session.pk).ended_at is None


class TestSessionsEndWithTheTokenRules:
    def test_logout_ends_its_session(self, user_a):
        phone = login(user_a)

        phone.post("/api/v1/auth/logout/", {"refresh": phone.tokens["refresh"]})

        assert phone.get(ME).status_code == 401
        assert login(user_a).get(SESSIONS).json()["count"] == 1

    def test_a_password_change_ends_every_session_and_starts_one(self, user_a):
        phone, laptop = login(user_a), login(user_a)
        new = "N3w-Password-Battery"

        r = phone.post(
            "/api/v1/auth/change-password/",
            {"old_password": PASSWORD, "new_password": new, "new_password_confirm": new},
        )

        assert r.status_code == 200
        assert laptop.get(SESSIONS).status_code == 401
        fresh = bearer(r.json()["tokens"]["access"])
        assert fresh.get(SESSIONS).json()["count"] == 1
        assert AuthSession.objects.filter(user=user_a, ended_at__isnull=True).count() == 1

    def test_a_password_reset_ends_every_session(self, anon, user_a):
        phone = login(user_a)
        user_a.refresh_from_db()
        uid = urlsafe_base64_encode(force_bytes(str(user_a.pk)))

        r = anon.post(
            "/api/v1/auth/password-reset/confirm/",
            {"uid": uid, "token": default_token_generator.make_token(user_a), "new_password": "N3w-Password-Battery"},
        )

        assert r.status_code == 200
        assert phone.get(ME).status_code == 401
        assert not AuthSession.objects.filter(user=user_a, ended_at__isnull=True).exists()

    def test_deleting_the_account_takes_its_sessions(self, user_a):
        phone = login(user_a)

        phone.delete(ME, {"password": PASSWORD})

        assert not AuthSession.objects.filter(user_id=user_a.pk).exists()


class TestAuthentication:
    def test_a_token_without_a_session_answers_401(self, user_a):
        legacy = RefreshToken.for_user(user_a)

        assert bearer(str(legacy.access_token)).get(ME).status_code == 401

    def test_a_refresh_token_from_before_sessions_starts_one(self, anon, user_a):
        legacy = RefreshToken.for_user(user_a)

        r = anon.post(REFRESH, {"refresh": str(legacy)})

        assert r.status_code == 200
        assert bearer(r.json()["access"]).get(SESSIONS).json()["count"] == 1

    def test_checking_the_session_costs_no_query_beyond_loading_the_user(self, user_a, django_assert_num_queries):
        token = client_for(user_a).tokens["access"]
        request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")

        with django_assert_num_queries(1):
            user, _ = SessionJWTAuthentication().authenticate(request)

        assert user == user_a

    def test_a_token_of_a_deleted_user_answers_401(self, anon):
        person = UserFactory()
        client = login(person)
        person.delete()

        assert client.get(ME).status_code == 401


class TestHousekeeping:
    def test_the_daily_task_drops_sessions_ended_or_expired_a_day_ago(self, user_a):
        phone = login(user_a)
        login(user_a)
        ended = AuthSession.objects.filter(user=user_a).order_by("created_at").last()
        AuthSession.objects.filter(pk=ended.pk).update(ended_at=timezone.now() - timedelta(days=2))

        flush_expired_tokens()

        assert not AuthSession.objects.filter(pk=ended.pk).exists()
        assert phone.get(ME).status_code == 200
