"""GET, PATCH /api/v1/auth/profile/: the person's medical profile."""

from decimal import Decimal

import pytest

from accounts.models import UserProfile

URL = "/api/v1/auth/profile/"

pytestmark = pytest.mark.django_db


class TestRead:
    def test_needs_credentials(self, anon):
        r = anon.get(URL)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_a_new_profile_is_metric_and_utc(self, client_a):
        data = client_a.get(URL).json()

        assert data["timezone"] == "UTC"
        assert data["preferred_units"] == "metric"
        assert data["height_cm"] is None

    def test_answers_the_callers_own_profile(self, client_a, user_b):
        UserProfile.objects.filter(user=user_b).update(allergies="peanuts")

        assert client_a.get(URL).json()["allergies"] == ""

    def test_answer_is_not_cacheable(self, client_a):
        assert "no-store" in client_a.get(URL)["Cache-Control"]


class TestUpdate:
    def test_stores_the_fields(self, client_a, user_a):
        body = {
            "height_cm": 172.5,
            "blood_type": "AB-",
            "gender": "female",
            "medical_conditions": "asthma",
            "allergies": "penicillin",
            "current_medications_notes": "salbutamol as needed",
            "emergency_notes": "inhaler in the left pocket",
            "preferred_units": "imperial",
            "timezone": "America/New_York",
        }

        r = client_a.patch(URL, body)

        assert r.status_code == 200
        assert r.json() == body
        profile = UserProfile.objects.get(user=user_a)
        assert profile.height_cm == Decimal("172.5")
        assert (profile.allergies, profile.timezone) == ("penicillin", "America/New_York")

    def test_height_is_a_json_number(self, client_a):
        r = client_a.patch(URL, {"height_cm": "180.0"})

        assert r.json()["height_cm"] == 180.0

    def test_leaves_fields_not_sent_alone(self, client_a, user_a):
        client_a.patch(URL, {"allergies": "penicillin"})

        client_a.patch(URL, {"timezone": "Asia/Tokyo"})

        assert UserProfile.objects.get(user=user_a).allergies == "penicillin"

    def test_unknown_timezone_answers_400_on_timezone(self, client_a):
        r = client_a.patch(URL, {"timezone": "Europe/Atlantis"})

        assert r.status_code == 400
        assert "timezone" in r.json()["error"]["fields"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [("height_cm", 500), ("height_cm", -1), ("blood_type", "Z+"), ("preferred_units", "furlongs"), ("gender", 7)],
    )
    def test_out_of_range_or_unknown_values_answer_400_on_the_field(self, client_a, field, value):
        r = client_a.patch(URL, {field: value})

        assert r.status_code == 400
        assert field in r.json()["error"]["fields"]

    def test_oversized_text_answers_400(self, client_a):
        r = client_a.patch(URL, {"medical_conditions": "x" * 5001})

        assert r.status_code == 400
        assert "medical_conditions" in r.json()["error"]["fields"]

    def test_owner_in_the_body_is_ignored(self, client_a, user_a, user_b):
        client_a.patch(URL, {"user": str(user_b.pk), "user_id": str(user_b.pk), "allergies": "latex"})

        assert UserProfile.objects.get(user=user_b).allergies == ""
        assert UserProfile.objects.get(user=user_a).allergies == "latex"

    def test_needs_credentials(self, anon):
        assert anon.patch(URL, {"allergies": "latex"}).status_code == 401
