"""`manage.py seed_demo`: demo people and their data through the apps' services; a rerun adds nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import CareTeamGrant, User
from appointments.models import Appointment
from demo import seed as demo
from health_metrics.models import HealthMetric, HealthMetricTarget
from iot_devices.models import DeviceDataBatch, IoTDevice
from jeghealth_backend.metric_catalog import METRIC_TYPES
from medications.models import DoseLog, Regimen
from notifications.models import Notification

pytestmark = pytest.mark.django_db

MODELS = (
    User,
    HealthMetric,
    HealthMetricTarget,
    IoTDevice,
    DeviceDataBatch,
    Regimen,
    DoseLog,
    Appointment,
    CareTeamGrant,
    Notification,
)


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", days=8, force=True, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


class TestSeedDemo:
    def test_it_makes_the_demo_people_and_their_data_once(self):
        output = _seed()
        first = _counts()
        patient = User.objects.get(email=demo.PATIENT_EMAIL)
        doctor = User.objects.get(email=demo.DOCTOR_EMAIL)
        assert User.objects.get(email=demo.ADMIN_EMAIL).is_superuser
        assert set(HealthMetric.objects.filter(user=patient).values_list("metric_type", flat=True)) == set(METRIC_TYPES)
        assert HealthMetric.objects.filter(user=patient, source="device").exists()
        assert HealthMetric.objects.filter(user=patient, is_anomaly=True).exists()
        assert IoTDevice.objects.get(owner=patient).status == "active"
        assert Regimen.objects.filter(user=patient).count() == 2
        assert DoseLog.objects.filter(user=patient).exists()
        assert Appointment.objects.filter(patient=patient, provider=doctor).count() == 2
        assert CareTeamGrant.objects.get(patient=patient, revoked_at__isnull=True).grantee == doctor
        assert HealthMetricTarget.objects.filter(user=patient).count() == 4
        assert demo.PATIENT_EMAIL in output and demo.DEFAULT_PASSWORD in output and "/api/v1/auth/login/" in output

        _seed()
        assert _counts() == first

    def test_the_printed_credentials_log_in(self, anon):
        _seed()
        response = anon.post(
            "/api/v1/auth/login/", {"email": demo.PATIENT_EMAIL, "password": demo.DEFAULT_PASSWORD}, format="json"
        )
        assert response.status_code == 200
        access = response.json()["tokens"]["access"]
        dashboard = anon.get("/api/v1/dashboard/", HTTP_AUTHORIZATION=f"Bearer {access}")
        assert dashboard.status_code == 200
        assert len(dashboard.json()["latest"]) == len(METRIC_TYPES)

    def test_it_refuses_to_run_with_debug_off_unless_forced(self):
        with pytest.raises(CommandError, match="known password"):
            call_command("seed_demo", days=2, stdout=io.StringIO())
        assert not User.objects.filter(email=demo.PATIENT_EMAIL).exists()
