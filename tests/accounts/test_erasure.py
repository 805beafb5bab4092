"""`DELETE current-user/` erases the person and everything the service holds about them."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuditEvent, CareTeamGrant, SecurityEvent
from health_metrics.models import HealthMetric
from iot_devices.models import DeviceDataBatch, IoTDevice
from tests.accounts.factories import PASSWORD, UserFactory


def rows_referencing(user_id) -> dict[str, int]:
    """Every row of every model whose foreign key to the user model holds USER_ID."""
    User = get_user_model()
    found = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                count = model._default_manager.filter(**{field.name: user_id}).count()
                if count:
                    found[f"{model._meta.label}.{field.name}"] = count
    return found


@pytest.mark.django_db
class TestErasure:
    def test_deleting_the_account_leaves_no_row_of_the_person(self, client_a, user_a, doctor, api, history):
        client_a.patch("/api/v1/auth/profile/", {"allergies": "penicillin"}, format="json")
        client_a.post(
            "/api/v1/auth/care-team/", {"doctor_email": doctor.email, "scopes": ["health_metrics"]}, format="json"
        )
        client_a.post("/api/v1/auth/login/", {"email": user_a.email, "password": "wrong-password-1"}, format="json")
        AuditEvent.objects.create(actor=doctor, patient=user_a, action="read", resource_type="health_metric")
        user_id = user_a.pk
        assert rows_referencing(user_id), "the fixture must create rows to erase"

        r = client_a.delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")

        assert r.status_code == 204
        assert not get_user_model().objects.filter(pk=user_id).exists()
        assert rows_referencing(user_id) == {}
        assert not CareTeamGrant.objects.filter(patient_id=user_id).exists()
        assert not SecurityEvent.objects.filter(user_id=user_id).exists()
        assert not OutstandingToken.objects.filter(user_id=user_id).exists()
        # Rows that reach the person only through another table (a device's batches and alerts) go too.
        assert not IoTDevice.objects.filter(pk=history["device"]).exists()
        assert not DeviceDataBatch.objects.filter(device_batch_id=history["batch"]).exists()
        assert not HealthMetric.objects.filter(user_id=user_id).exists()

    def test_tokens_of_the_erased_account_answer_401(self, client_a):
        refresh = client_a.tokens["refresh"]
        assert client_a.delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json").status_code == 204
        assert client_a.get("/api/v1/auth/current-user/").status_code == 401
        r = client_a.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
        assert r.status_code == 401 and r.json()["error"]["code"] in ("token_not_valid", "authentication_failed")

    def test_a_wrong_password_erases_nothing(self, client_a, user_a):
        r = client_a.delete("/api/v1/auth/current-user/", {"password": "not-my-password"}, format="json")
        assert r.status_code == 400 and "password" in r.json()["error"]["fields"]
        assert get_user_model().objects.filter(pk=user_a.pk).exists()


@pytest.mark.django_db
class TestErasureOfCareTeamParties:
    def test_a_patients_erasure_takes_their_grants_and_invitations(self, client_a, user_a, doctor):
        client_a.post(
            "/api/v1/auth/care-team/", {"doctor_email": doctor.email, "scopes": ["health_metrics"]}, format="json"
        )
        client_a.post(
            "/api/v1/auth/care-team/",
            {"role": "caregiver", "email": "carer@example.org", "scopes": ["alerts"]},
            format="json",
        )
        assert CareTeamGrant.objects.filter(patient=user_a).count() == 2

        assert client_a.delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json").status_code == 204

        assert not CareTeamGrant.objects.exists()

    def test_a_caregivers_erasure_leaves_no_row_of_them_and_the_patients_record_of_the_grant(self, api, user_a):
        carer = UserFactory(email="carer@example.org")
        grant = CareTeamGrant.objects.create(
            patient=user_a, role="caregiver", grantee=carer, invited_email=carer.email, scopes=["health_metrics"]
        )
        api(carer).get(f"/api/v1/health-metrics/?patient={user_a.pk}")
        carer_id = carer.pk

        r = api(carer).delete("/api/v1/auth/current-user/", {"password": PASSWORD}, format="json")

        assert r.status_code == 204
        assert rows_referencing(carer_id) == {}
        stored = CareTeamGrant.objects.get(pk=grant.pk)
        assert (stored.grantee_id, stored.invited_email, stored.status) == (None, "carer@example.org", "revoked")
        released = SecurityEvent.objects.get(event_type="grant_revoked")
        assert released.user is None and released.metadata["reason"] == "grantee_erased"
        assert api(user_a).get("/api/v1/auth/access-log/").json()["results"][0]["actor"]["id"] == str(carer_id)

    def test_a_grant_made_without_its_address_takes_it_from_the_erased_account(self, user_a, doctor):
        grant = CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["health_metrics"])
        email = doctor.email

        doctor.delete()

        stored = CareTeamGrant.objects.get(pk=grant.pk)
        assert (stored.grantee_id, stored.invited_email) == (None, email) and stored.revoked_at is not None
