"""providers/ and providers/me/: who is listed, what a doctor's own profile holds and accepts."""

import pytest

from appointments.models import ProviderProfile
from tests.accounts.factories import DoctorFactory

from .factories import ProviderProfileFactory

PROVIDERS = "/api/v1/appointments/providers/"
ME = PROVIDERS + "me/"


@pytest.mark.django_db
class TestProviderList:
    def test_lists_doctors_with_the_id_used_for_booking(self, client_a, provider):
        r = client_a.get(PROVIDERS)

        assert r.status_code == 200
        assert r.json()["results"] == [
            {
                "id": str(provider.doctor_id),
                "name": provider.doctor.full_name,
                "specialty": "General practice",
                "clinic_name": "Praxis Mitte",
                "consultation_minutes": 30,
            }
        ]

    def test_lists_a_doctor_without_a_profile_with_the_defaults(self, client_a, doctor):
        r = client_a.get(PROVIDERS)

        assert [(p["id"], p["consultation_minutes"], p["specialty"]) for p in r.json()["results"]] == [
            (str(doctor.pk), 30, "")
        ]
        assert not ProviderProfile.objects.exists()

    def test_leaves_out_people_who_are_not_doctors(self, client_a, user_b, provider):
        ids = [p["id"] for p in client_a.get(PROVIDERS).json()["results"]]

        assert ids == [str(provider.doctor_id)]

    def test_query_count_does_not_grow_with_the_doctors(self, client_a, django_assert_max_num_queries):
        ProviderProfileFactory.create_batch(3)
        DoctorFactory.create_batch(2)
        with django_assert_max_num_queries(4):
            r = client_a.get(PROVIDERS)
        assert r.json()["count"] == 5

    def test_anonymous_gets_401(self, anon):
        r = anon.get(PROVIDERS)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
class TestMyProviderProfile:
    def test_first_access_creates_the_profile_with_defaults(self, client_doctor, doctor):
        doctor.profile.timezone = "America/New_York"
        doctor.profile.save()

        r = client_doctor.get(ME)

        assert r.status_code == 200
        body = r.json()
        assert body["id"] == str(doctor.pk)
        assert body["timezone"] == "America/New_York"
        assert body["consultation_minutes"] == 30
        assert body["working_hours"][0] == {"weekday": 0, "start": "09:00", "end": "17:00"}
        assert len(body["working_hours"]) == 5 and body["days_off"] == []
        assert ProviderProfile.objects.get(doctor=doctor).timezone == "America/New_York"

    def test_same_id_as_in_the_list(self, client_doctor, client_a):
        mine = client_doctor.get(ME).json()["id"]

        assert [p["id"] for p in client_a.get(PROVIDERS).json()["results"]] == [mine]

    def test_patch_stores_hours_days_off_and_clinic(self, client_doctor, doctor):
        r = client_doctor.patch(
            ME,
            {
                "specialty": "Cardiology",
                "clinic_name": "Herzzentrum",
                "clinic_address": "Hauptstraße 5",
                "consultation_minutes": 20,
                "timezone": "Europe/Berlin",
                "working_hours": [
                    {"weekday": 2, "start": "13:00", "end": "17:00"},
                    {"weekday": 2, "start": "08:00", "end": "12:00"},
                ],
                "days_off": ["2025-12-25", "2025-12-24", "2025-12-25"],
            },
            format="json",
        )

        assert r.status_code == 200, r.content
        stored = ProviderProfile.objects.get(doctor=doctor)
        assert stored.specialty == "Cardiology" and stored.consultation_minutes == 20
        assert stored.working_hours == [
            {"weekday": 2, "start": "08:00", "end": "12:00"},
            {"weekday": 2, "start": "13:00", "end": "17:00"},
        ]
        assert stored.days_off == ["2025-12-24", "2025-12-25"]
        assert r.json()["days_off"] == ["2025-12-24", "2025-12-25"]

    def test_patch_keeps_fields_not_sent(self, client_doctor, provider):
        client_doctor.patch(ME, {"specialty": "Dermatology"}, format="json")

        provider.refresh_from_db()
        assert provider.specialty == "Dermatology" and provider.clinic_name == "Praxis Mitte"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"working_hours": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "working_hours"),
            ({"working_hours": [{"weekday": 1, "start": "17:00", "end": "09:00"}]}, "working_hours"),
            ({"working_hours": [{"weekday": 1, "start": "9am", "end": "17:00"}]}, "working_hours"),
            (
                {
                    "working_hours": [
                        {"weekday": 1, "start": "09:00", "end": "13:00"},
                        {"weekday": 1, "start": "12:00", "end": "17:00"},
                    ]
                },
                "working_hours",
            ),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"consultation_minutes": 2}, "consultation_minutes"),
            ({"days_off": ["2025-02-30"]}, "days_off"),
        ],
    )
    def test_invalid_values_answer_400_in_the_envelope(self, client_doctor, provider, body, field):
        r = client_doctor.patch(ME, body, format="json")

        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "validation_error" and field in error["fields"]
        provider.refresh_from_db()
        assert provider.timezone == "Europe/Berlin" and len(provider.working_hours) == 5

    def test_a_patient_gets_403_and_no_profile(self, client_a, user_a):
        r = client_a.get(ME)

        assert r.status_code == 403
        assert r.json()["error"]["code"] == "permission_denied"
        assert not ProviderProfile.objects.filter(doctor=user_a).exists()

    def test_anonymous_gets_401(self, anon):
        assert anon.patch(ME, {}, format="json").status_code == 401
