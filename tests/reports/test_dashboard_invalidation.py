"""`GET dashboard/` after a write of each app the dashboard shows: the change is visible in the very next call.

Each test reads the dashboard first (so it is cached), writes through the API with a real JWT, and reads again.
Tests run inside a transaction, so the writes' after-commit hooks run through `django_capture_on_commit_callbacks`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from iot_devices import services as device_services
from notifications.services import notify
from tests.appointments.factories import AppointmentFactory, ProviderProfileFactory
from tests.health_metrics.factories import TargetFactory
from tests.iot_devices.factories import pair_device

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard/"


def dashboard(client) -> dict:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return response.json()


class TestTargets:
    def test_a_new_target_is_visible_at_once(self, client_a, django_capture_on_commit_callbacks):
        assert dashboard(client_a)["targets"] == []
        body = {
            "metric_type": "steps",
            "target_type": "minimum",
            "target_value": 8000,
            "start_date": timezone.now().date().isoformat(),
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post("/api/v1/health-metrics/targets/", body, format="json")
        assert response.status_code == 201, response.content

        (entry,) = dashboard(client_a)["targets"]
        assert (entry["target"]["id"], entry["target"]["target_value"]) == (response.json()["id"], 8000)

    def test_a_deleted_target_is_gone_at_once(self, client_a, user_a, django_capture_on_commit_callbacks):
        target = TargetFactory(user=user_a, start_date=timezone.now().date() - timedelta(days=3))
        assert [t["target"]["id"] for t in dashboard(client_a)["targets"]] == [str(target.id)]

        with django_capture_on_commit_callbacks(execute=True):
            assert client_a.delete(f"/api/v1/health-metrics/targets/{target.id}/").status_code == 204

        assert dashboard(client_a)["targets"] == []


class TestMedications:
    def test_a_logged_dose_is_visible_at_once(self, api, user_a, django_capture_on_commit_callbacks):
        with freeze_time("2025-03-05 06:00:00"):
            body = {
                "name": "Lisinopril",
                "dosage": 10,
                "dosage_unit": "mg",
                "form": "tablet",
                "frequency": "once_daily",
                "schedule_times": ["08:00"],
                "start_date": "2025-03-01",
            }
            regimen = api(user_a).post("/api/v1/medications/", body, format="json").json()
        with freeze_time("2025-03-05 08:10:00"):
            client = api(user_a)
            (dose,) = dashboard(client)["medications"]["today"]
            assert dose["status"] == "pending"

            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    f"/api/v1/medications/{regimen['id']}/log/",
                    {"scheduled_for": "2025-03-05T08:00:00Z", "status": "taken"},
                    format="json",
                )
            assert response.status_code == 201, response.content

            (dose,) = dashboard(client)["medications"]["today"]
            assert dose["status"] == "taken"


class TestAppointments:
    def test_the_doctors_confirmation_is_visible_on_the_patients_dashboard_at_once(
        self, api, client_a, user_a, django_capture_on_commit_callbacks
    ):
        doctor = ProviderProfileFactory().doctor
        appointment = AppointmentFactory(patient=user_a, provider=doctor, start_time=timezone.now() + timedelta(days=2))
        (upcoming,) = dashboard(client_a)["appointments"]["upcoming"]
        assert upcoming["status"] == "scheduled"

        with django_capture_on_commit_callbacks(execute=True):
            response = api(doctor).post(f"/api/v1/appointments/{appointment.pk}/confirm/", {}, format="json")
        assert response.status_code == 200, response.content

        (upcoming,) = dashboard(client_a)["appointments"]["upcoming"]
        assert (upcoming["id"], upcoming["status"]) == (str(appointment.pk), "confirmed")


class TestNotifications:
    def test_reading_the_whole_inbox_is_visible_at_once(self, client_a, user_a, django_capture_on_commit_callbacks):
        notify(user=user_a, category="system", title="Welcome", body="Hello")
        assert dashboard(client_a)["notifications"]["unread_count"] == 1

        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post("/api/v1/notifications/read-all/", {}, format="json")
        assert response.json() == {"updated": 1}

        summary = dashboard(client_a)["notifications"]
        assert summary["unread_count"] == 0
        assert [item["is_read"] for item in summary["latest"]] == [True]


class TestDevices:
    def test_a_resolved_alert_is_visible_at_once(self, client_a, user_a, django_capture_on_commit_callbacks):
        watch = pair_device(user_a)
        alert = device_services.alert_raise(
            device=watch.device, alert_type="low_battery", severity="warning", message="Battery at 12 %."
        )
        (device,) = dashboard(client_a)["devices"]
        assert device["open_alerts"] == 1

        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post(f"/api/v1/devices/alerts/{alert.id}/resolve/", {}, format="json")
        assert response.status_code == 200, response.content

        (device,) = dashboard(client_a)["devices"]
        assert (device["id"], device["open_alerts"]) == (str(watch.device.id), 0)
