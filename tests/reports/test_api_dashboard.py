"""`GET dashboard/`: one call for the home screen, in a fixed number of queries, cached until data changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from health_metrics import services as metric_services
from iot_devices import services as device_services
from jeghealth_backend.person_cache import person_data_changed
from notifications.services import notify
from tests.appointments.factories import AppointmentFactory, ProviderProfileFactory
from tests.health_metrics.factories import TargetFactory
from tests.iot_devices.factories import pair_device

from .factories import add_history, start_regimen

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard/"


def _furnish(user, *, days: int, per_day: int) -> None:
    """A person with DAYS × PER_DAY readings of every type, and one of everything else the dashboard shows."""
    add_history(user, days=days, per_day=per_day, anomaly_days=(days - 2,))
    TargetFactory(
        user=user, metric_type="steps", target_value=3000, start_date=timezone.now().date() - timedelta(days=20)
    )
    TargetFactory(
        user=user,
        metric_type="weight",
        target_type="maximum",
        target_value=90,
        period="weekly",
        start_date=timezone.now().date() - timedelta(days=20),
    )
    start_regimen(user, days_ago=10)
    provider = ProviderProfileFactory().doctor
    AppointmentFactory(patient=user, provider=provider, start_time=timezone.now() + timedelta(days=2))
    notify(user=user, category="system", title="Welcome", body="Hello")
    watch = pair_device(user)
    device_services.alert_raise(device=watch.device, alert_type="low_battery", severity="warning", message="Low")


class TestDashboard:
    def test_it_needs_a_token(self, anon):
        response = anon.get(URL)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"

    def test_it_answers_everything_in_one_call(self, client_a, user_a):
        _furnish(user_a, days=40, per_day=2)
        response = client_a.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {
            "generated_at",
            "date",
            "timezone",
            "latest",
            "trends",
            "targets",
            "medications",
            "appointments",
            "notifications",
            "devices",
            "insights",
        }
        assert set(body["latest"]) == set(body["trends"]) and len(body["latest"]) == 12
        assert body["latest"]["blood_pressure"]["systolic_value"] is not None
        pressure = body["trends"]["blood_pressure"]
        assert set(pressure["last_7_days"]) == {"systolic", "diastolic"}
        assert pressure["last_30_days"]["systolic"]["days"] == 30
        assert set(body["trends"]["steps"]["last_7_days"]) == {"value"}
        assert {t["target"]["metric_type"] for t in body["targets"]} == {"steps", "weight"}
        steps = next(t for t in body["targets"] if t["target"]["metric_type"] == "steps")
        assert steps["current_period"]["period_start"] == body["date"]
        assert len(steps["recent_periods"]) == 8
        assert body["medications"]["today"][0]["medication_name"] == "Lisinopril"
        assert set(body["medications"]["adherence"]) == {"last_7_days", "last_30_days"}
        assert len(body["appointments"]["upcoming"]) == 1
        # The welcome, and the device's low battery (told by its alert episode).
        (device,) = body["devices"]
        assert body["notifications"]["unread_count"] == 2
        assert {n["title"] for n in body["notifications"]["latest"]} == {"Welcome", f"{device['name']}: battery low"}
        (device,) = body["devices"]
        assert (device["status"], device["open_alerts"]) == ("active", 1)
        assert {i["code"] for i in body["insights"]} >= {"flagged_readings", "target_periods_met"}

    def test_it_shows_only_my_data(self, client_b, user_a):
        _furnish(user_a, days=5, per_day=1)
        body = client_b.get(URL).json()
        assert body["latest"] == {} and body["trends"] == {} and body["targets"] == []
        assert body["medications"]["today"] == [] and body["appointments"]["upcoming"] == []
        assert body["notifications"]["unread_count"] == 0 and body["devices"] == []

    def test_the_number_of_queries_does_not_grow_with_the_history(self, api, django_assert_max_num_queries):
        from tests.accounts.factories import UserFactory

        short, long = UserFactory(), UserFactory()
        _furnish(short, days=10, per_day=1)
        _furnish(long, days=60, per_day=8)
        counts = []
        for person in (short, long):
            client = api(person)
            with django_assert_max_num_queries(30), CaptureQueriesContext(connection) as queries:
                assert client.get(URL).status_code == 200
            counts.append(len(queries.captured_queries))
        assert counts[0] == counts[1]


class TestDashboardCache:
    def test_a_second_call_is_served_from_the_cache(self, client_a, user_a, django_assert_max_num_queries):
        _furnish(user_a, days=10, per_day=1)
        first = client_a.get(URL).json()
        with django_assert_max_num_queries(3):
            assert client_a.get(URL).json() == first

    def test_a_new_reading_is_visible_at_once(self, client_a, user_a, django_capture_on_commit_callbacks):
        add_history(user_a, days=3, metric_types=("weight",))
        assert client_a.get(URL).json()["latest"]["weight"]["value"] != 71.5
        with django_capture_on_commit_callbacks(execute=True):
            metric_services.metric_create(
                user=user_a, data={"metric_type": "weight", "value": 71.5, "recorded_at": timezone.now().isoformat()}
            )
        assert client_a.get(URL).json()["latest"]["weight"]["value"] == 71.5

    def test_the_hook_invalidates_what_other_apps_write(self, client_a, user_a, django_capture_on_commit_callbacks):
        assert client_a.get(URL).json()["notifications"]["unread_count"] == 0
        notify(user=user_a, category="system", title="Hi", body="")
        assert client_a.get(URL).json()["notifications"]["unread_count"] == 0  # cached, no hook called yet
        with django_capture_on_commit_callbacks(execute=True):
            person_data_changed(user_a.pk)
        assert client_a.get(URL).json()["notifications"]["unread_count"] == 1

    def test_another_persons_writes_leave_my_cache_alone(
        self, client_a, user_a, user_b, django_assert_max_num_queries, django_capture_on_commit_callbacks
    ):
        client_a.get(URL)
        with django_capture_on_commit_callbacks(execute=True):
            person_data_changed(user_b.pk)
        with django_assert_max_num_queries(3):
            client_a.get(URL)
