"""Care-team grants through the API: who may grant, see, and revoke; what expiry and revocation do."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.access import grant_covers
from accounts.models import CareTeamGrant, SecurityEvent
from tests.accounts.factories import DoctorFactory, UserFactory

URL = "/api/v1/auth/care-team/"


def grant(client, doctor, scopes=("health_metrics",), **extra):
    return client.post(URL, {"doctor_email": doctor.email, "scopes": list(scopes), **extra}, format="json")


@pytest.mark.django_db
class TestGrantCreate:
    def test_patient_grants_a_doctor_by_email(self, client_a, user_a, doctor):
        r = grant(client_a, doctor, scopes=["health_metrics", "medications"], expires_at=None)
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["doctor"]["email"] == doctor.email and body["patient"]["id"] == str(user_a.pk)
        assert body["scopes"] == ["health_metrics", "medications"] and body["is_active"] is True
        stored = CareTeamGrant.objects.get(pk=body["id"])
        assert stored.patient == user_a and stored.grantee == doctor and stored.revoked_at is None
        assert SecurityEvent.objects.filter(user=user_a, event_type="grant_created").count() == 1

    def test_a_doctors_grant_answers_its_role_and_status(self, client_a, user_a, doctor):
        r = client_a.post(URL, {"role": "doctor", "email": doctor.email, "scopes": ["alerts"]}, format="json")
        assert r.status_code == 201, r.content
        body = r.json()
        assert (body["role"], body["status"], body["email"]) == ("doctor", "active", doctor.email)
        assert body["grantee"] == {"id": str(doctor.pk), "name": doctor.full_name, "email": doctor.email}
        assert body["patient"] == {"id": str(user_a.pk), "name": user_a.full_name}
        assert body["accepted_at"] is not None and body["scopes"] == ["alerts"]

    def test_email_of_a_non_doctor_is_refused(self, client_a, user_b):
        r = grant(client_a, user_b)
        assert r.status_code == 400
        assert "doctor_email" in r.json()["error"]["fields"]
        assert not CareTeamGrant.objects.exists()

    def test_unknown_email_answers_like_a_non_doctor(self, client_a):
        r = client_a.post(URL, {"doctor_email": "nobody@example.org", "scopes": ["health_metrics"]}, format="json")
        assert r.status_code == 400 and "doctor_email" in r.json()["error"]["fields"]

    def test_unknown_scope_is_refused(self, client_a, doctor):
        r = grant(client_a, doctor, scopes=["everything"])
        assert r.status_code == 400 and "scopes" in r.json()["error"]["fields"]
        assert not CareTeamGrant.objects.exists()

    def test_expiry_in_the_past_is_refused(self, client_a, doctor):
        r = grant(client_a, doctor, expires_at=(timezone.now() - timedelta(hours=1)).isoformat())
        assert r.status_code == 400 and "expires_at" in r.json()["error"]["fields"]

    def test_granting_again_replaces_the_live_grant(self, client_a, user_a, doctor):
        grant(client_a, doctor, scopes=["health_metrics"])
        grant(client_a, doctor, scopes=["appointments"])
        live = CareTeamGrant.objects.filter(patient=user_a, grantee=doctor, revoked_at__isnull=True)
        assert [g.scopes for g in live] == [["appointments"]]
        assert CareTeamGrant.objects.filter(patient=user_a).count() == 2

    def test_anonymous_gets_401(self, anon):
        assert anon.get(URL).status_code == 401


@pytest.mark.django_db
class TestGrantVisibilityAndRevocation:
    def test_doctor_reads_a_grant_made_to_them(self, client_a, doctor, api):
        created = grant(client_a, doctor).json()
        r = api(doctor).get(URL)
        assert r.status_code == 200
        assert [g["id"] for g in r.json()["results"]] == [created["id"]]

    def test_doctor_cannot_revoke_a_grant(self, client_a, doctor, api):
        created = grant(client_a, doctor).json()
        r = api(doctor).delete(f"{URL}{created['id']}/")
        assert r.status_code == 403
        assert CareTeamGrant.objects.get(pk=created["id"]).revoked_at is None

    def test_another_patient_cannot_see_or_revoke_it(self, client_a, client_b, doctor):
        created = grant(client_a, doctor).json()
        assert client_b.get(URL).json()["results"] == []
        assert client_b.delete(f"{URL}{created['id']}/").status_code == 404
        assert CareTeamGrant.objects.get(pk=created["id"]).revoked_at is None

    def test_revocation_takes_effect_at_once(self, client_a, user_a, doctor):
        created = grant(client_a, doctor).json()
        assert grant_covers(grantee=doctor, patient_id=user_a.pk, scope="health_metrics")
        assert client_a.delete(f"{URL}{created['id']}/").status_code == 204
        assert not grant_covers(grantee=doctor, patient_id=user_a.pk, scope="health_metrics")
        assert client_a.get(URL).json()["results"] == []

    def test_expiry_takes_effect_at_once(self, client_a, user_a, doctor):
        expires = timezone.now() + timedelta(hours=2)
        grant(client_a, doctor, expires_at=expires.isoformat())
        assert grant_covers(grantee=doctor, patient_id=user_a.pk, scope="health_metrics")
        with freeze_time(expires + timedelta(seconds=1)):
            assert not grant_covers(grantee=doctor, patient_id=user_a.pk, scope="health_metrics")

    def test_a_grant_covers_only_its_scopes(self, client_a, user_a, doctor):
        grant(client_a, doctor, scopes=["medications"])
        assert grant_covers(grantee=doctor, patient_id=user_a.pk, scope="medications")
        assert not grant_covers(grantee=doctor, patient_id=user_a.pk, scope="health_metrics")

    def test_a_doctor_who_lost_the_role_is_not_covered(self, client_a, user_a, doctor):
        grant(client_a, doctor)
        doctor.user_roles.filter(role__name="doctor").delete()
        assert not grant_covers(grantee=doctor, patient_id=user_a.pk, scope="health_metrics")


@pytest.mark.django_db
def test_grants_are_independent_between_doctors():
    patient, first, second = UserFactory(), DoctorFactory(), DoctorFactory()
    CareTeamGrant.objects.create(patient=patient, grantee=first, scopes=["health_metrics"])
    assert grant_covers(grantee=first, patient_id=patient.pk, scope="health_metrics")
    assert not grant_covers(grantee=second, patient_id=patient.pk, scope="health_metrics")
