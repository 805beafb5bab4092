"""Sign-ins, failed sign-ins, password changes and resets are recorded as security events, with their origin."""

import pytest

from accounts.models import SecurityEvent
from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login/"


def test_a_login_is_recorded_with_its_origin(anon, user_a):
    r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}, format="json", HTTP_USER_AGENT="JEG/2.0")
    assert r.status_code == 200
    event = SecurityEvent.objects.get(user=user_a, event_type="login")
    assert event.user_agent == "JEG/2.0" and event.ip_address == "127.0.0.1"


def test_a_failed_login_is_recorded_against_the_account_without_the_password(anon, user_a):
    anon.post(LOGIN, {"email": user_a.email, "password": "Wrong-Password-123"}, format="json")
    event = SecurityEvent.objects.get(event_type="login_failed")
    assert event.user == user_a and event.identifier == user_a.email
    assert "Wrong-Password-123" not in str(event.metadata)


def test_a_failed_login_for_an_unknown_address_keeps_the_address_tried(anon):
    anon.post(LOGIN, {"email": "nobody@example.org", "password": "Wrong-Password-123"}, format="json")
    event = SecurityEvent.objects.get(event_type="login_failed")
    assert event.user is None and event.identifier == "nobody@example.org"


def test_a_password_change_is_recorded(client_a, user_a):
    body = {
        "old_password": PASSWORD,
        "new_password": "An0ther-Long-Phrase",
        "new_password_confirm": "An0ther-Long-Phrase",
    }
    assert client_a.post("/api/v1/auth/change-password/", body, format="json").status_code == 200
    assert SecurityEvent.objects.filter(user=user_a, event_type="password_changed").count() == 1


def test_security_events_are_append_only(anon, user_a):
    anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}, format="json")
    event = SecurityEvent.objects.get(user=user_a, event_type="login")
    event.event_type = "logout"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
