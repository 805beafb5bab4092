"""Prescriptions by doctors, and a doctor's reading of a patient's medications under a grant (`?patient=`)."""

import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import AuditEvent
from medications.models import Regimen
from tests.medications.conftest import URL, create_regimen, grant, regimen_body

PRESCRIBE = f"{URL}prescriptions/"


def prescribe(client, patient, **overrides):
    return client.post(PRESCRIBE, {**regimen_body(**overrides), "patient": str(patient.pk)}, format="json")


@pytest.mark.django_db
class TestPrescribe:
    def test_a_doctor_with_a_grant_starts_a_regimen_for_the_patient(self, api, doctor, user_a, catalog):
        grant(user_a, doctor)
        r = prescribe(api(doctor), user_a, medication=str(catalog["atorvastatin"].id), name="", dosage=20)
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["prescribed_by"] == {"id": str(doctor.pk), "name": doctor.full_name}
        assert body["name"] == "atorvastatin" and body["interaction_warnings"] == []
        stored = Regimen.objects.get(pk=body["id"])
        assert stored.user == user_a and stored.prescribed_by == doctor
        event = AuditEvent.objects.get(patient=user_a)
        assert (event.actor, event.action, event.resource_type, event.resource_id) == (
            doctor,
            "create",
            "medication_regimen",
            body["id"],
        )

    def test_the_patient_sees_who_prescribed_it(self, api, doctor, user_a, client_a):
        grant(user_a, doctor)
        prescribe(api(doctor), user_a)
        [regimen] = client_a.get(URL).json()["results"]
        assert regimen["prescribed_by"]["id"] == str(doctor.pk)

    def test_warns_about_the_patients_other_regimens(self, api, doctor, user_a, client_a, catalog):
        grant(user_a, doctor)
        create_regimen(client_a, name="Nardil", dosage=15)
        r = prescribe(api(doctor), user_a, name="Zoloft", dosage=50)
        [warning] = r.json()["interaction_warnings"]
        assert warning["severity"] == "contraindicated" and warning["medications"] == ["Zoloft", "Nardil"]

    def test_a_doctor_without_a_grant_gets_404(self, api, doctor, user_a):
        r = prescribe(api(doctor), user_a)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert not Regimen.objects.exists()

    def test_a_grant_of_another_scope_is_not_enough(self, api, doctor, user_a):
        grant(user_a, doctor, scopes=["health_metrics"])
        assert prescribe(api(doctor), user_a).status_code == 404
        assert not Regimen.objects.exists()

    def test_a_revoked_grant_is_not_enough(self, api, doctor, user_a):
        g = grant(user_a, doctor)
        g.revoked_at = timezone.now()
        g.save()
        assert prescribe(api(doctor), user_a).status_code == 404

    def test_an_unknown_patient_gets_404(self, api, doctor):
        assert prescribe(api(doctor), SimpleNamespace(pk=uuid.uuid4())).status_code == 404

    def test_a_patient_cannot_prescribe(self, client_b, user_a, user_b):
        grant(user_a, user_b)
        r = prescribe(client_b, user_a)
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        assert not Regimen.objects.exists()

    def test_validation_errors_are_in_the_envelope(self, api, doctor, user_a):
        grant(user_a, doctor)
        r = api(doctor).post(PRESCRIBE, {"patient": str(user_a.pk), "frequency": "daily"}, format="json")
        assert r.status_code == 400
        fields = r.json()["error"]["fields"]
        assert {"dosage", "dosage_unit", "frequency", "start_date"} <= set(fields)

    def test_anonymous_gets_401(self, anon, user_a):
        assert prescribe(anon, user_a).status_code == 401


@pytest.mark.django_db
class TestDoctorReads:
    @pytest.fixture
    def patient_regimen(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            return create_regimen(api(user_a))

    def test_a_doctor_with_a_grant_reads_regimens_doses_and_adherence(self, api, doctor, user_a, patient_regimen):
        grant(user_a, doctor)
        with freeze_time("2025-03-06 12:00:00"):
            client = api(doctor)
            q = f"patient={user_a.pk}"
            assert [r["id"] for r in client.get(f"{URL}?{q}").json()["results"]] == [patient_regimen["id"]]
            assert client.get(f"{URL}{patient_regimen['id']}/?{q}").status_code == 200
            doses = client.get(f"{URL}doses/?{q}&date=2025-03-05").json()["results"]
            assert [d["status"] for d in doses] == ["missed"]
            overall = client.get(f"{URL}adherence/?{q}&start_date=2025-03-05&end_date=2025-03-05").json()["overall"]
            assert overall == {"scheduled": 1, "taken": 0, "percent": 0.0}
            assert client.get(f"{URL}statistics/?{q}").status_code == 200
        reads = AuditEvent.objects.filter(patient=user_a, actor=doctor, action="read")
        assert reads.count() == 5 and set(reads.values_list("resource_type", flat=True)) == {"medication_regimen"}

    def test_a_doctor_without_a_grant_gets_404(self, api, doctor, user_a, patient_regimen):
        client = api(doctor)
        for path in ("", f"{patient_regimen['id']}/", "doses/", "adherence/", "statistics/"):
            r = client.get(f"{URL}{path}?patient={user_a.pk}")
            assert r.status_code == 404, path
        assert not AuditEvent.objects.exists()

    def test_another_patient_gets_404(self, client_b, user_a, patient_regimen):
        assert client_b.get(f"{URL}?patient={user_a.pk}").status_code == 404
        assert client_b.get(f"{URL}{patient_regimen['id']}/").status_code == 404

    def test_a_doctor_does_not_change_a_patients_regimen(self, api, doctor, user_a, patient_regimen):
        grant(user_a, doctor)
        client = api(doctor)
        q = f"?patient={user_a.pk}"
        assert client.patch(f"{URL}{patient_regimen['id']}/{q}", {"dosage": 99}, format="json").status_code == 403
        assert client.delete(f"{URL}{patient_regimen['id']}/{q}").status_code == 403
        assert client.post(f"{URL}{q}", regimen_body(), format="json").status_code == 403
        stored = Regimen.objects.get(pk=patient_regimen["id"])
        assert stored.dosage == 10 and stored.is_active and Regimen.objects.count() == 1
