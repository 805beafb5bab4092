"""`/api/v1/health-metrics/`: create, list, detail, PATCH, DELETE, latest and anomalies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from health_metrics.models import HealthMetric
from iot_devices.models import IoTDevice
from jeghealth_backend.metric_catalog import CATALOG
from tests.health_metrics.conftest import BASE, set_timezone
from tests.health_metrics.factories import BloodPressureFactory, HealthMetricFactory

pytestmark = pytest.mark.django_db

MOBILE_APP_REQUEST = {
    "metric_type": "blood_pressure",
    "systolic_value": 120,
    "diastolic_value": 80,
    "unit": "mmHg",
    "recorded_at": "2025-07-24T12:00:00Z",
    "is_manual_entry": True,
    "notes": "Morning reading",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _unit_cases():
    """Every metric type with every spelling it accepts, and a canonical value inside its plausible range."""
    for spec in CATALOG.values():
        for unit in spec.units:
            for spelling in (unit.name, *unit.aliases):
                yield pytest.param(spec.metric_type, spelling, unit, id=f"{spec.metric_type}-{spelling}")


def _sample(spec, unit) -> tuple[dict, dict]:
    """A request body in UNIT and the canonical values expected back."""
    if spec.is_blood_pressure:
        return {"systolic_value": 118, "diastolic_value": 76}, {"systolic_value": 118.0, "diastolic_value": 76.0}
    low, high = spec.ranges["value"]
    canonical = round(low + (high - low) * 0.3, 1)
    if spec.metric_type == "muscle_mass":
        canonical = 30.0
    entered = round(canonical / unit.factor - unit.shift, 6)
    return {"value": entered}, {"value": pytest.approx(canonical, abs=1e-4)}


def error_fields(response) -> dict:
    body = response.json()
    assert body["error"]["code"] == "validation_error", body
    return body["error"]["fields"]


class TestCreate:
    def test_it_stores_the_mobile_apps_exact_request(self, client_a, user_a):
        response = client_a.post(BASE, MOBILE_APP_REQUEST, format="json")

        assert response.status_code == 201
        body = response.json()
        assert body["metric_type"] == "blood_pressure"
        assert (body["systolic_value"], body["diastolic_value"], body["value"]) == (120, 80, None)
        assert (body["unit"], body["source"], body["device"], body["quality"]) == ("mmHg", "manual", None, "ok")
        assert body["recorded_at"] == "2025-07-24T12:00:00Z"
        assert body["notes"] == "Morning reading"
        stored = HealthMetric.objects.get(pk=body["id"])
        assert stored.user == user_a and stored.is_manual_entry

    def test_it_answers_401_without_credentials(self, anon):
        response = anon.post(BASE, MOBILE_APP_REQUEST, format="json")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        assert not HealthMetric.objects.exists()

    @pytest.mark.parametrize(("metric_type", "spelling", "unit"), list(_unit_cases()))
    def test_it_accepts_every_unit_and_answers_in_the_canonical_one(self, client_a, metric_type, spelling, unit):
        spec = CATALOG[metric_type]
        values, expected = _sample(spec, unit)
        body = {"metric_type": metric_type, "unit": spelling, "recorded_at": "2025-07-24T12:00:00Z", **values}

        response = client_a.post(BASE, body, format="json")

        assert response.status_code == 201, response.json()
        answer = response.json()
        assert answer["unit"] == spec.unit
        for field, value in expected.items():
            assert answer[field] == value
        if not spec.is_blood_pressure:
            assert (answer["entered_value"], answer["entered_unit"]) == (values["value"], unit.name)

    @pytest.mark.parametrize("metric_type", list(CATALOG))
    def test_it_refuses_values_outside_the_plausible_range(self, client_a, metric_type):
        spec = CATALOG[metric_type]
        field = next(iter(spec.ranges))
        low, high = spec.ranges[field]
        for outside in (low - 0.5, high + 1):
            body = {"metric_type": metric_type, "recorded_at": "2025-07-24T12:00:00Z", field: outside}
            if spec.is_blood_pressure:
                body["diastolic_value"] = 30
            response = client_a.post(BASE, body, format="json")
            assert response.status_code == 400
            assert field in error_fields(response)
        assert not HealthMetric.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"value": "72"}, "value"),
            ({"value": True}, "value"),
            ({"value": None}, "value"),
            ({"value": [72]}, "value"),
            ({"systolic_value": 120}, "systolic_value"),
            ({"metric_type": "mood"}, "metric_type"),
            ({"metric_type": None}, "metric_type"),
            ({"unit": "kg"}, "unit"),
            ({"unit": 3}, "unit"),
            ({"recorded_at": "2025-07-24T12:00:00"}, "recorded_at"),
            ({"recorded_at": "2025-07-24"}, "recorded_at"),
            ({"recorded_at": "tomorrow"}, "recorded_at"),
            ({"recorded_at": "2999-01-01T00:00:00Z"}, "recorded_at"),
            ({"notes": "x" * 2001}, "notes"),
            ({"notes": 12}, "notes"),
            ({"metadata": [1]}, "metadata"),
            ({"metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
            ({"metadata": {"a": {"b": {"c": {"d": 1}}}}}, "metadata"),
            ({"metadata": {"blob": "x" * 5000}}, "metadata"),
            ({"client_record_id": "abc"}, "client_record_id"),
            ({"is_manual_entry": "sometimes"}, "is_manual_entry"),
        ],
    )
    def test_it_refuses_malformed_fields_naming_them(self, client_a, change, field):
        body = {"metric_type": "heart_rate", "value": 72, "recorded_at": "2025-07-24T12:00:00Z", **change}
        response = client_a.post(BASE, body, format="json")
        assert response.status_code == 400
        assert field in error_fields(response)
        assert not HealthMetric.objects.exists()

    def test_it_refuses_a_missing_time(self, client_a):
        response = client_a.post(BASE, {"metric_type": "heart_rate", "value": 72}, format="json")
        assert error_fields(response) == {"recorded_at": ["This field is required."]}

    def test_it_refuses_a_body_that_is_not_an_object(self, client_a):
        response = client_a.post(BASE, [MOBILE_APP_REQUEST], format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"

    def test_it_refuses_non_finite_numbers(self, client_a):
        raw = b'{"metric_type": "heart_rate", "value": NaN, "recorded_at": "2025-07-24T12:00:00Z"}'
        response = client_a.post(BASE, raw, content_type="application/json")
        assert response.status_code == 400
        assert "error" in response.json()

    def test_it_allows_a_clock_five_minutes_ahead(self, client_a):
        ahead = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
        response = client_a.post(BASE, {"metric_type": "steps", "value": 10, "recorded_at": ahead}, format="json")
        assert response.status_code == 201


class TestOfflineSync:
    def test_a_replayed_client_record_id_answers_200_with_the_stored_reading(self, client_a):
        body = {**MOBILE_APP_REQUEST, "client_record_id": str(uuid.uuid4())}
        first = client_a.post(BASE, body, format="json")

        again = client_a.post(BASE, {**body, "notes": "sent twice"}, format="json")

        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["notes"] == "Morning reading"
        assert HealthMetric.objects.count() == 1

    def test_another_person_may_use_the_same_client_record_id(self, client_a, client_b):
        body = {**MOBILE_APP_REQUEST, "client_record_id": str(uuid.uuid4())}
        assert client_a.post(BASE, body, format="json").status_code == 201
        assert client_b.post(BASE, body, format="json").status_code == 201
        assert HealthMetric.objects.count() == 2

    def test_readings_without_client_record_id_are_never_merged(self, client_a):
        client_a.post(BASE, MOBILE_APP_REQUEST, format="json")
        client_a.post(BASE, MOBILE_APP_REQUEST, format="json")
        assert HealthMetric.objects.count() == 2


class TestQuality:
    def post(self, client, metric_type, value, recorded_at, **extra):
        body = {"metric_type": metric_type, "value": value, "recorded_at": recorded_at, **extra}
        return client.post(BASE, body, format="json")

    def test_a_weight_jump_within_an_hour_is_stored_as_suspect(self, client_a):
        self.post(client_a, "weight", 80, "2025-07-24T08:00:00Z")
        response = self.post(client_a, "weight", 86, "2025-07-24T08:30:00Z")
        assert response.status_code == 201
        assert response.json()["quality"] == "suspect"

    def test_a_weight_change_over_more_than_an_hour_is_ok(self, client_a):
        self.post(client_a, "weight", 80, "2025-07-24T08:00:00Z")
        assert self.post(client_a, "weight", 86, "2025-07-24T09:30:00Z").json()["quality"] == "ok"

    def test_a_suspect_reading_is_not_the_previous_one_of_the_next(self, client_a):
        self.post(client_a, "weight", 80, "2025-07-24T08:00:00Z")
        self.post(client_a, "weight", 90, "2025-07-24T08:10:00Z")
        assert self.post(client_a, "weight", 80.5, "2025-07-24T08:20:00Z").json()["quality"] == "ok"

    def test_a_temperature_jump_within_ten_minutes_is_suspect(self, client_a):
        self.post(client_a, "temperature", 36.6, "2025-07-24T08:00:00Z")
        assert self.post(client_a, "temperature", 40.0, "2025-07-24T08:05:00Z").json()["quality"] == "suspect"
        assert self.post(client_a, "temperature", 40.0, "2025-07-24T08:30:00Z").json()["quality"] == "ok"

    def test_muscle_mass_not_below_the_latest_weight_is_refused(self, client_a):
        self.post(client_a, "weight", 60, "2025-07-24T08:00:00Z")
        response = self.post(client_a, "muscle_mass", 61, "2025-07-24T09:00:00Z")
        assert response.status_code == 400
        assert "value" in error_fields(response)
        assert self.post(client_a, "muscle_mass", 30, "2025-07-24T09:00:00Z").status_code == 201

    def test_a_bmi_far_from_weight_and_height_is_suspect(self, client_a, user_a):
        user_a.profile.height_cm = 180
        user_a.profile.save()
        self.post(client_a, "weight", 81, "2025-07-24T08:00:00Z")  # BMI 25.0
        assert self.post(client_a, "bmi", 25.5, "2025-07-24T09:00:00Z").json()["quality"] == "ok"
        assert self.post(client_a, "bmi", 28, "2025-07-24T09:00:00Z").json()["quality"] == "suspect"


class TestList:
    def test_it_answers_401_without_credentials(self, anon):
        assert anon.get(BASE).status_code == 401

    def test_it_lists_only_my_readings_newest_first(self, client_a, user_a, user_b):
        older = HealthMetricFactory(user=user_a, recorded_at=at("2025-07-01T08:00:00Z"))
        newer = BloodPressureFactory(user=user_a, recorded_at=at("2025-07-02T08:00:00Z"))
        HealthMetricFactory(user=user_b)

        body = client_a.get(BASE).json()

        assert body["count"] == 2
        assert [r["id"] for r in body["results"]] == [str(newer.id), str(older.id)]
        assert set(body["results"][0]) >= {
            "id",
            "metric_type",
            "value",
            "systolic_value",
            "diastolic_value",
            "unit",
            "recorded_at",
            "source",
            "device",
            "is_anomaly",
            "notes",
            "metadata",
        }

    def test_it_filters_by_type_source_device_and_anomaly(self, client_a, user_a):
        device = IoTDevice.objects.create(owner=user_a, name="Watch", device_type="smartwatch", serial_number="W1")
        from_device = HealthMetricFactory(user=user_a, source="device", device=device, is_manual_entry=False)
        flagged = HealthMetricFactory(user=user_a, metric_type="steps", value=10, is_anomaly=True)
        HealthMetricFactory(user=user_a, metric_type="weight", value=70)

        def ids(query):
            response = client_a.get(BASE + query)
            assert response.status_code == 200, response.json()
            return {r["id"] for r in response.json()["results"]}

        assert ids("?metric_type=steps") == {str(flagged.id)}
        assert ids("?source=device") == {str(from_device.id)}
        assert ids(f"?device={device.id}") == {str(from_device.id)}
        assert ids("?is_anomaly=true") == {str(flagged.id)}

    def test_date_filters_are_whole_local_days(self, client_a, user_a):
        set_timezone(user_a, "America/New_York")
        # 02:00 UTC on the 2nd is still the 1st in New York (22:00, UTC-4).
        late_on_first = HealthMetricFactory(user=user_a, recorded_at=at("2025-07-02T02:00:00Z"))
        second = HealthMetricFactory(user=user_a, recorded_at=at("2025-07-02T12:00:00Z"))

        body = client_a.get(BASE + "?start_date=2025-07-01&end_date=2025-07-01").json()
        assert [r["id"] for r in body["results"]] == [str(late_on_first.id)]
        body = client_a.get(BASE + "?start_date=2025-07-02").json()
        assert [r["id"] for r in body["results"]] == [str(second.id)]

    def test_date_filters_take_instants_too(self, client_a, user_a):
        HealthMetricFactory(user=user_a, recorded_at=at("2025-07-02T02:00:00Z"))
        inside = HealthMetricFactory(user=user_a, recorded_at=at("2025-07-02T12:00:00Z"))
        body = client_a.get(BASE, {"start_date": "2025-07-02T10:00:00+00:00"}).json()
        assert [r["id"] for r in body["results"]] == [str(inside.id)]

    @pytest.mark.parametrize("query", ["?metric_type=mood", "?start_date=July", "?is_anomaly=perhaps", "?device=x"])
    def test_it_refuses_malformed_filters(self, client_a, query):
        response = client_a.get(BASE + query)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"

    def test_it_orders_by_a_field(self, client_a, user_a):
        first = HealthMetricFactory(user=user_a, recorded_at=at("2025-07-01T08:00:00Z"))
        second = HealthMetricFactory(user=user_a, recorded_at=at("2025-07-02T08:00:00Z"))
        body = client_a.get(BASE + "?ordering=recorded_at").json()
        assert [r["id"] for r in body["results"]] == [str(first.id), str(second.id)]

    def test_it_pages_with_limit_and_offset_at_most_200(self, client_a, user_a):
        HealthMetricFactory.create_batch(205, user=user_a)
        body = client_a.get(BASE + "?limit=500").json()
        assert (body["count"], len(body["results"])) == (205, 200)
        assert len(client_a.get(BASE + "?limit=5&offset=203").json()["results"]) == 2

    @pytest.mark.parametrize("page", [1, 200])
    def test_it_runs_a_fixed_number_of_queries_whatever_the_page_size(
        self, client_a, user_a, django_assert_max_num_queries, page
    ):
        device = IoTDevice.objects.create(owner=user_a, name="Watch", device_type="smartwatch", serial_number="W1")
        HealthMetricFactory.create_batch(200, user=user_a, source="device", device=device)
        # The token's user, the count, the page, the profile for the local-day filter.
        with django_assert_max_num_queries(4):
            response = client_a.get(BASE, {"limit": page, "start_date": "2025-01-01"})
        assert len(response.json()["results"]) == page


class TestDetail:
    def test_it_answers_my_reading(self, client_a, user_a):
        reading = BloodPressureFactory(user=user_a)
        body = client_a.get(f"{BASE}{reading.id}/").json()
        assert (body["id"], body["systolic_value"]) == (str(reading.id), 120)

    def test_it_answers_404_for_another_persons_reading(self, client_b, user_a):
        reading = HealthMetricFactory(user=user_a)
        response = client_b.get(f"{BASE}{reading.id}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    @pytest.mark.parametrize("path", ["6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b/", "42/", "not-a-uuid/"])
    def test_it_answers_404_for_a_missing_reading(self, client_a, path):
        response = client_a.get(BASE + path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_it_answers_401_without_credentials(self, anon, user_a):
        assert anon.get(f"{BASE}{HealthMetricFactory(user=user_a).id}/").status_code == 401


class TestPatch:
    def test_it_changes_values_in_the_unit_given(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a, metric_type="weight", value=70)
        response = client_a.patch(f"{BASE}{reading.id}/", {"value": 160, "unit": "lb"}, format="json")
        assert response.status_code == 200, response.json()
        reading.refresh_from_db()
        assert reading.value == pytest.approx(72.574779)
        assert (reading.entered_value, reading.entered_unit) == (160, "lb")

    def test_it_changes_notes_only(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a)
        assert client_a.patch(f"{BASE}{reading.id}/", {"notes": "after a run"}, format="json").status_code == 200
        reading.refresh_from_db()
        assert (reading.notes, reading.value) == ("after a run", 72)

    def test_it_refuses_a_value_outside_the_range(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a)
        response = client_a.patch(f"{BASE}{reading.id}/", {"value": 400}, format="json")
        assert "value" in error_fields(response)
        reading.refresh_from_db()
        assert reading.value == 72

    def test_it_refuses_another_type(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a)
        response = client_a.patch(f"{BASE}{reading.id}/", {"metric_type": "weight"}, format="json")
        assert "metric_type" in error_fields(response)

    def test_it_keeps_a_device_readings_values(self, client_a, user_a):
        device = IoTDevice.objects.create(owner=user_a, name="Watch", device_type="smartwatch", serial_number="W1")
        reading = HealthMetricFactory(user=user_a, source="device", device=device)
        response = client_a.patch(f"{BASE}{reading.id}/", {"value": 80}, format="json")
        assert "value" in error_fields(response)
        assert client_a.patch(f"{BASE}{reading.id}/", {"notes": "resting"}, format="json").status_code == 200

    def test_it_confirms_a_suspect_reading(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a, quality="suspect")
        response = client_a.patch(f"{BASE}{reading.id}/", {"quality": "ok"}, format="json")
        assert response.json()["quality"] == "ok"

    def test_new_values_are_checked_for_anomalies_again(self, client_a, user_a):
        reading = BloodPressureFactory(user=user_a)
        client_a.patch(f"{BASE}{reading.id}/", {"systolic_value": 190}, format="json")
        reading.refresh_from_db()
        assert reading.is_anomaly and "hypertensive crisis" in reading.anomaly_reason

    def test_it_answers_404_for_another_persons_reading(self, client_b, user_a):
        reading = HealthMetricFactory(user=user_a)
        assert client_b.patch(f"{BASE}{reading.id}/", {"notes": "mine"}, format="json").status_code == 404
        reading.refresh_from_db()
        assert reading.notes == ""

    def test_put_is_not_allowed(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a)
        response = client_a.put(f"{BASE}{reading.id}/", {"notes": "x"}, format="json")
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"


class TestDelete:
    def test_it_deletes_my_reading(self, client_a, user_a):
        reading = HealthMetricFactory(user=user_a)
        assert client_a.delete(f"{BASE}{reading.id}/").status_code == 204
        assert not HealthMetric.objects.filter(pk=reading.pk).exists()

    def test_it_answers_404_for_another_persons_reading(self, client_b, user_a):
        reading = HealthMetricFactory(user=user_a)
        assert client_b.delete(f"{BASE}{reading.id}/").status_code == 404
        assert HealthMetric.objects.filter(pk=reading.pk).exists()


class TestLatest:
    def test_it_answers_the_latest_reading_of_each_type(self, client_a, user_a, user_b):
        HealthMetricFactory(user=user_a, value=60, recorded_at=at("2025-07-01T08:00:00Z"))
        newest = HealthMetricFactory(user=user_a, value=65, recorded_at=at("2025-07-03T08:00:00Z"))
        # Stored later, recorded earlier: "latest" is by recorded_at.
        HealthMetricFactory(user=user_a, value=70, recorded_at=at("2025-07-02T08:00:00Z"))
        weight = HealthMetricFactory(user=user_a, metric_type="weight", value=70)
        HealthMetricFactory(user=user_b, value=99, recorded_at=at("2025-07-09T08:00:00Z"))

        body = client_a.get(BASE + "latest/").json()

        assert set(body) == {"heart_rate", "weight"}
        assert body["heart_rate"]["id"] == str(newest.id)
        assert body["weight"]["id"] == str(weight.id)

    def test_it_answers_an_empty_object_without_readings(self, client_a):
        assert client_a.get(BASE + "latest/").json() == {}

    def test_a_write_is_visible_in_the_next_read(self, client_a):
        assert client_a.get(BASE + "latest/").json() == {}  # cached now
        created = client_a.post(BASE, MOBILE_APP_REQUEST, format="json").json()
        assert client_a.get(BASE + "latest/").json()["blood_pressure"]["id"] == created["id"]
        client_a.delete(f"{BASE}{created['id']}/")
        assert client_a.get(BASE + "latest/").json() == {}

    def test_it_answers_401_without_credentials(self, anon):
        assert anon.get(BASE + "latest/").status_code == 401


class TestAnomalyList:
    def test_it_lists_my_flagged_readings_with_their_reason(self, client_a, user_a, user_b):
        client_a.post(BASE, {**MOBILE_APP_REQUEST, "systolic_value": 185}, format="json")
        client_a.post(BASE, MOBILE_APP_REQUEST, format="json")
        HealthMetricFactory(user=user_b, is_anomaly=True, anomaly_reason="theirs")

        body = client_a.get(BASE + "anomalies/").json()

        assert body["count"] == 1
        assert body["results"][0]["systolic_value"] == 185
        assert "hypertensive crisis" in body["results"][0]["anomaly_reason"]

    def test_it_runs_a_fixed_number_of_queries(self, client_a, user_a, django_assert_max_num_queries):
        HealthMetricFactory.create_batch(50, user=user_a, is_anomaly=True, anomaly_reason="r")
        with django_assert_max_num_queries(3):
            assert len(client_a.get(BASE + "anomalies/?limit=50").json()["results"]) == 50

    def test_it_answers_401_without_credentials(self, anon):
        assert anon.get(BASE + "anomalies/").status_code == 401
