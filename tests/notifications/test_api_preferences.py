"""GET, PUT /notifications/preferences/."""

from __future__ import annotations

import pytest

from notifications.models import NotificationPreference, QuietHours

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/preferences/"
ALL_ON = {"in_app": True, "email": True, "push": True}
CATEGORIES = ["health_alert", "medication_reminder", "appointment_reminder", "device_alert", "system"]


class TestGet:
    def test_it_needs_credentials(self, anon):
        assert anon.get(URL).status_code == 401

    def test_by_default_every_channel_is_on_and_there_are_no_quiet_hours(self, client_a):
        r = client_a.get(URL)

        assert r.status_code == 200
        assert r.json() == {
            "categories": dict.fromkeys(CATEGORIES, ALL_ON),
            "quiet_hours_start": None,
            "quiet_hours_end": None,
        }


class TestPut:
    def test_it_sets_flags_and_quiet_hours_and_answers_the_whole_preferences(self, client_a, user_a):
        body = {
            "categories": {"medication_reminder": {"in_app": True, "email": False, "push": True}},
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
        }

        r = client_a.put(URL, body, format="json")

        assert r.status_code == 200
        assert r.json()["categories"]["medication_reminder"] == {"in_app": True, "email": False, "push": True}
        assert r.json()["categories"]["system"] == ALL_ON
        assert (r.json()["quiet_hours_start"], r.json()["quiet_hours_end"]) == ("22:00", "07:30")
        assert NotificationPreference.objects.get(user=user_a, category="medication_reminder").email is False
        assert client_a.get(URL).json() == r.json()

    def test_flags_and_categories_not_given_keep_their_value(self, client_a):
        client_a.put(URL, {"categories": {"system": {"push": False}}}, format="json")

        r = client_a.put(URL, {"categories": {"system": {"email": False}}}, format="json")

        assert r.json()["categories"]["system"] == {"in_app": True, "email": False, "push": False}

    def test_quiet_hours_are_cleared_with_null(self, client_a, user_a):
        client_a.put(URL, {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, format="json")

        r = client_a.put(URL, {"quiet_hours_start": None, "quiet_hours_end": None}, format="json")

        assert (r.json()["quiet_hours_start"], r.json()["quiet_hours_end"]) == (None, None)
        assert QuietHours.objects.get(user=user_a).start is None

    def test_my_preferences_are_not_anybody_elses(self, client_a, client_b):
        client_a.put(URL, {"categories": {"system": {"push": False}}}, format="json")

        assert client_b.get(URL).json()["categories"]["system"] == ALL_ON

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"categories": {"marketing": {"push": True}}}, "categories"),
            ({"categories": {"system": {"push": "sometimes"}}}, "categories"),
            ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
            ({"quiet_hours_start": "22:00", "quiet_hours_end": None}, "quiet_hours_end"),
            ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "quiet_hours_end"),
            ({"quiet_hours_start": "10pm", "quiet_hours_end": "07:00"}, "quiet_hours_start"),
        ],
        ids=["unknown-category", "not-a-boolean", "start-only", "end-null", "same-times", "not-hh-mm"],
    )
    def test_invalid_preferences_answer_a_validation_error(self, client_a, user_a, body, field):
        r = client_a.put(URL, body, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"
        assert field in r.json()["error"]["fields"]
        assert not NotificationPreference.objects.filter(user=user_a).exists()
        assert not QuietHours.objects.filter(user=user_a).exists()

    def test_it_needs_credentials(self, anon):
        assert anon.put(URL, {"categories": {}}, format="json").status_code == 401
