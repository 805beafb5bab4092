"""POST, DELETE /notifications/push-tokens/."""

from __future__ import annotations

import pytest

from notifications.models import Notification, PushToken
from notifications.services import MAX_ACTIVE_PUSH_TOKENS
from tests.conftest import client_for

from .factories import PushTokenFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/push-tokens/"
TOKEN = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"


class TestRegister:
    def test_it_needs_credentials(self, anon):
        assert anon.post(URL, {"token": TOKEN, "platform": "ios"}, format="json").status_code == 401

    def test_it_registers_a_token(self, client_a, user_a):
        r = client_a.post(URL, {"token": TOKEN, "platform": "ios"}, format="json")

        assert r.status_code == 201
        token = PushToken.objects.get()
        assert r.json() == {
            "id": str(token.pk),
            "token": TOKEN,
            "platform": "ios",
            "is_active": True,
            "last_used_at": r.json()["last_used_at"],
            "created_at": r.json()["created_at"],
        }
        assert (token.user, token.is_active) == (user_a, True)

    def test_registering_the_same_token_again_refreshes_it(self, client_a):
        first = client_a.post(URL, {"token": TOKEN, "platform": "ios"}, format="json")
        PushToken.objects.update(is_active=False)

        again = client_a.post(URL, {"token": TOKEN, "platform": "ios"}, format="json")

        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert PushToken.objects.get().is_active is True

    def test_the_modern_token_spelling_is_accepted(self, client_a):
        r = client_a.post(URL, {"token": "ExpoPushToken[abc-DEF_123]", "platform": "android"}, format="json")

        assert r.status_code == 201

    def test_a_token_registered_by_someone_else_is_not_taken_over(self, client_a, user_a, user_b):
        PushTokenFactory(user=user_b, token=TOKEN, installation_id="install-b-0001")

        r = client_a.post(URL, {"token": TOKEN, "platform": "android"}, format="json")

        assert r.status_code == 409
        assert r.json()["error"] == {
            "code": "conflict",
            "message": "This push token is registered to another account.",
        }
        token = PushToken.objects.get(token=TOKEN)
        assert (token.user, token.platform, token.installation_id) == (user_b, "ios", "install-b-0001")
        assert not Notification.objects.exists()

    def test_another_installation_id_does_not_take_it_over_either(self, client_a, user_b):
        PushTokenFactory(user=user_b, token=TOKEN, installation_id="install-b-0001")

        r = client_a.post(URL, {"token": TOKEN, "platform": "ios", "installation_id": "install-a-0001"}, format="json")

        assert r.status_code == 409
        assert PushToken.objects.get(token=TOKEN).user == user_b

    def test_a_token_registered_without_an_installation_id_stays_with_its_owner(self, client_a, user_b):
        PushTokenFactory(user=user_b, token=TOKEN, installation_id="")

        r = client_a.post(URL, {"token": TOKEN, "platform": "ios", "installation_id": "install-a-0001"}, format="json")

        assert r.status_code == 409
        assert PushToken.objects.get(token=TOKEN).user == user_b

    def test_the_same_installation_moves_its_token_to_the_account_now_signed_in(self, client_a, user_a, user_b):
        PushTokenFactory(user=user_b, token=TOKEN, installation_id="install-0001")

        r = client_a.post(URL, {"token": TOKEN, "platform": "ios", "installation_id": "install-0001"}, format="json")

        assert r.status_code == 200
        assert PushToken.objects.get(token=TOKEN).user == user_a

    def test_the_former_owner_is_told_in_app(self, client_a, user_a, user_b):
        PushTokenFactory(user=user_b, token=TOKEN, installation_id="install-0001")

        client_a.post(URL, {"token": TOKEN, "platform": "ios", "installation_id": "install-0001"}, format="json")

        [told] = client_for(user_b).get("/api/v1/notifications/").json()["results"]
        assert (told["category"], told["severity"]) == ("system", "warning")
        assert told["title"] == "A phone no longer receives your notifications"
        assert told["data"]["kind"] == "push_token_moved"
        assert not Notification.objects.filter(recipient=user_a).exists()

    def test_my_own_token_keeps_its_installation_id_when_refreshed_without_one(self, client_a, user_a):
        client_a.post(URL, {"token": TOKEN, "platform": "ios", "installation_id": "install-0001"}, format="json")

        r = client_a.post(URL, {"token": TOKEN, "platform": "ios"}, format="json")

        assert r.status_code == 200
        assert PushToken.objects.get(token=TOKEN).installation_id == "install-0001"

    def test_beyond_the_cap_the_least_recently_used_tokens_are_deactivated(self, client_a, user_a):
        for i in range(MAX_ACTIVE_PUSH_TOKENS + 2):
            client_a.post(URL, {"token": f"ExponentPushToken[t{i:03d}]", "platform": "ios"}, format="json")

        active = set(PushToken.objects.filter(user=user_a, is_active=True).values_list("token", flat=True))
        assert len(active) == MAX_ACTIVE_PUSH_TOKENS
        assert "ExponentPushToken[t000]" not in active and "ExponentPushToken[t011]" in active

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"token": "not-a-token", "platform": "ios"}, "token"),
            ({"token": "ExponentPushToken[]", "platform": "ios"}, "token"),
            ({"token": "ExponentPushToken[a b]", "platform": "ios"}, "token"),
            ({"token": TOKEN, "platform": "blackberry"}, "platform"),
            ({"platform": "ios"}, "token"),
            ({"token": TOKEN, "platform": "ios", "installation_id": "short"}, "installation_id"),
            ({"token": TOKEN, "platform": "ios", "installation_id": "has spaces in it"}, "installation_id"),
        ],
        ids=["garbage", "empty", "space", "platform", "missing", "short-installation", "bad-installation"],
    )
    def test_invalid_input_answers_a_validation_error(self, client_a, body, field):
        r = client_a.post(URL, body, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"
        assert list(r.json()["error"]["fields"]) == [field]
        assert not PushToken.objects.exists()


class TestRemove:
    def test_it_forgets_my_token(self, client_a, user_a):
        PushTokenFactory(user=user_a, token=TOKEN)

        r = client_a.delete(URL, {"token": TOKEN}, format="json")

        assert r.status_code == 204
        assert not PushToken.objects.exists()

    def test_it_answers_404_for_another_persons_token_and_keeps_it(self, client_a, user_b):
        PushTokenFactory(user=user_b, token=TOKEN)

        r = client_a.delete(URL, {"token": TOKEN}, format="json")

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert PushToken.objects.filter(user=user_b).exists()

    def test_it_needs_a_token(self, client_a):
        r = client_a.delete(URL, {}, format="json")

        assert r.status_code == 400
        assert "token" in r.json()["error"]["fields"]

    def test_it_needs_credentials(self, anon):
        assert anon.delete(URL, {"token": TOKEN}, format="json").status_code == 401
