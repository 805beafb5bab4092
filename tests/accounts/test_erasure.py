"""`DELETE current-user/` erases the person and everything the service holds about them."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuditEvent, CareTeamGrant, SecurityEvent
from health_metrics.models import HealthMetric
from iot_devices.models import DeviceDataBatch, IoTDevice
from tests.accounts.factories import PASSWORD


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
        assert not DeviceDataBatch.objects.filter(batch_id=history["batch"]).exists()
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
