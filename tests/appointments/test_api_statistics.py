"""statistics/: counts by status and type, upcoming, and the rates, for patients and for doctors."""

import pytest

from appointments.choices import AppointmentStatus, AppointmentType

from .conftest import MONDAY, TUESDAY, berlin, grant
from .factories import AppointmentFactory, ProviderProfileFactory

STATS = "/api/v1/appointments/statistics/"
S = AppointmentStatus


@pytest.fixture
def history(user_a, user_b, provider):
    """user_a with the provider: 3 completed, 1 no-show, 1 cancelled, 1 upcoming telemedicine; user_b: 1."""
    rows = [
        (S.COMPLETED, berlin(MONDAY, 9, 0)),
        (S.COMPLETED, berlin(MONDAY, 9, 30)),
        (S.COMPLETED, berlin(MONDAY, 10, 0)),
        (S.NO_SHOW, berlin(MONDAY, 10, 30)),
        (S.CANCELLED, berlin(MONDAY, 11, 0)),
    ]
    for status, start in rows:
        AppointmentFactory(patient=user_a, provider=provider.doctor, status=status, start_time=start)
    AppointmentFactory(
        patient=user_a,
        provider=provider.doctor,
        start_time=berlin(TUESDAY, 9),
        appointment_type=AppointmentType.TELEMEDICINE,
    )
    AppointmentFactory(patient=user_b, provider=provider.doctor, start_time=berlin(TUESDAY, 10))


@pytest.mark.django_db
class TestStatistics:
    def test_patient_gets_their_counts_and_rates(self, client_a, history):
        r = client_a.get(STATS)

        assert r.status_code == 200
        assert r.json() == {
            "role": "patient",
            "total": 6,
            "by_status": {"scheduled": 1, "confirmed": 0, "completed": 3, "cancelled": 1, "no_show": 1},
            "by_type": {"in_person": 5, "telemedicine": 1, "phone": 0},
            "upcoming": 1,
            "completion_rate": 0.75,
            "no_show_rate": 0.25,
            "cancellation_rate": 0.1667,
        }

    def test_doctor_gets_the_appointments_with_them(self, client_doctor, history):
        body = client_doctor.get(STATS).json()

        assert body["role"] == "provider" and body["total"] == 7 and body["upcoming"] == 2

    def test_rates_are_null_before_any_appointment(self, client_b):
        body = client_b.get(STATS).json()

        assert body["total"] == 0 and body["completion_rate"] is None and body["no_show_rate"] is None

    def test_doctor_with_a_grant_gets_the_patients(self, api, user_a, history):
        doctor = ProviderProfileFactory().doctor
        grant(user_a, doctor)

        body = api(doctor).get(STATS, {"patient": str(user_a.pk)}).json()

        assert body["role"] == "patient" and body["total"] == 6

    def test_doctor_without_a_grant_gets_404(self, api, user_a, history):
        doctor = ProviderProfileFactory().doctor

        assert api(doctor).get(STATS, {"patient": str(user_a.pk)}).status_code == 404

    def test_unknown_role_answers_400(self, client_a):
        r = client_a.get(STATS, {"role": "nurse"})

        assert r.status_code == 400 and "role" in r.json()["error"]["fields"]

    def test_anonymous_gets_401(self, anon):
        assert anon.get(STATS).status_code == 401
