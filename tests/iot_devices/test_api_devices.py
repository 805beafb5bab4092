"""The owner's device endpoints: pair, list, read, change, forget, deactivate."""

from __future__ import annotations

import pytest

from iot_devices.models import IoTDevice

from .factories import pair_device

URL = "/api/v1/devices/"

pytestmark = pytest.mark.django_db


def detail(device) -> str:
    return f"{URL}{device.id}/"


class TestPairing:
    def test_it_requires_a_token(self, anon):
        r = anon.post(URL, {"name": "Watch", "device_type": "smartwatch", "serial_number": "S1"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_it_answers_the_key_and_code_once_and_stores_only_hashes(self, client_a, user_a):
        r = client_a.post(URL, {"name": "Cuff", "device_type": "blood_pressure_monitor", "serial_number": "BP-1"})
        assert r.status_code == 201
        body = r.json()
        assert body["status"] == "pending_verification"
        assert body["is_verified"] is False
        assert body["api_key"].startswith("jegd_")
        assert len(body["verification_code"]) == 8
        device = IoTDevice.objects.get(pk=body["id"])
        assert device.owner == user_a
        stored = " ".join(str(v) for v in IoTDevice.objects.filter(pk=device.pk).values().first().values())
        assert body["api_key"] not in stored
        assert body["verification_code"] not in stored
        assert "key_hash" not in body and "verification_code_hash" not in body

    def test_configuration_gets_the_device_type_defaults(self, client_a):
        r = client_a.post(URL, {"name": "Cuff", "device_type": "blood_pressure_monitor", "serial_number": "BP-2"})
        assert r.json()["configuration"] == {
            "sampling_interval_seconds": 43200,
            "metric_types": ["blood_pressure", "heart_rate"],
            "alert_thresholds": {},
        }

    def test_configuration_names_a_metric_the_device_cannot_measure(self, client_a):
        body = {
            "name": "Meter",
            "device_type": "glucose_meter",
            "serial_number": "G-1",
            "configuration": {"metric_types": ["blood_sugar", "steps"]},
        }
        r = client_a.post(URL, body, format="json")
        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert "steps" in error["fields"]["configuration.metric_types"][0]
        assert not IoTDevice.objects.exists()

    @pytest.mark.parametrize(
        "configuration, field",
        [
            ({"sampling_interval_seconds": 0}, "configuration.sampling_interval_seconds"),
            ({"sampling_interval_seconds": "60"}, "configuration.sampling_interval_seconds"),
            ({"alert_thresholds": {"heart_rate": {"min": 130, "max": 40}}}, "configuration.alert_thresholds"),
            ({"alert_thresholds": {"weight": {"max": 100}}}, "configuration.alert_thresholds"),
            ({"colour": "red"}, "configuration.configuration"),
        ],
    )
    def test_configuration_rules_answer_400(self, client_a, configuration, field):
        body = {"name": "W", "device_type": "smartwatch", "serial_number": "W-1", "configuration": configuration}
        r = client_a.post(URL, body, format="json")
        assert r.status_code == 400
        assert field in r.json()["error"]["fields"]

    def test_a_valid_configuration_is_stored(self, client_a):
        configuration = {
            "sampling_interval_seconds": 60,
            "metric_types": ["heart_rate", "steps"],
            "alert_thresholds": {"heart_rate": {"min": 40, "max": 150}},
        }
        body = {"name": "W", "device_type": "smartwatch", "serial_number": "W-2", "configuration": configuration}
        r = client_a.post(URL, body, format="json")
        assert r.status_code == 201
        stored = IoTDevice.objects.get(pk=r.json()["id"]).configuration
        assert stored["metric_types"] == ["heart_rate", "steps"]
        assert stored["alert_thresholds"] == {"heart_rate": {"min": 40.0, "max": 150.0}}

    def test_the_same_serial_twice_is_400(self, client_a):
        body = {"name": "W", "device_type": "smartwatch", "serial_number": "DUP"}
        assert client_a.post(URL, body).status_code == 201
        r = client_a.post(URL, body)
        assert r.status_code == 400
        assert "serial_number" in r.json()["error"]["fields"]
        assert IoTDevice.objects.count() == 1

    def test_protected_fields_in_the_body_are_ignored(self, client_a, user_a, user_b):
        body = {
            "name": "W",
            "device_type": "smartwatch",
            "serial_number": "W-3",
            "status": "active",
            "is_verified": True,
            "owner": str(user_b.id),
        }
        r = client_a.post(URL, body)
        device = IoTDevice.objects.get(pk=r.json()["id"])
        assert (device.owner, device.status, device.is_verified) == (user_a, "pending_verification", False)

    def test_an_unknown_device_type_is_400(self, client_a):
        r = client_a.post(URL, {"name": "W", "device_type": "toaster", "serial_number": "T"})
        assert r.status_code == 400
        assert "device_type" in r.json()["error"]["fields"]


class TestListAndRead:
    def test_it_lists_only_my_devices(self, client_a, watch_a, watch_b):
        r = client_a.get(URL)
        assert r.status_code == 200
        body = r.json()
        assert body["count"] == 1
        assert [d["id"] for d in body["results"]] == [str(watch_a.device.id)]
        assert set(body["results"][0]) >= {"status", "is_verified", "last_seen_at", "battery_level", "firmware_version"}

    def test_the_list_costs_a_fixed_number_of_queries(self, client_a, user_a, django_assert_max_num_queries):
        for _ in range(5):
            pair_device(user_a)
        with django_assert_max_num_queries(6):
            r = client_a.get(URL)
        assert r.json()["count"] == 5

    def test_it_filters_by_status(self, client_a, watch_a, unverified_a):
        r = client_a.get(URL, {"status": "pending_verification"})
        assert [d["id"] for d in r.json()["results"]] == [str(unverified_a.device.id)]

    def test_it_answers_my_device(self, client_a, watch_a):
        r = client_a.get(detail(watch_a.device))
        assert r.status_code == 200
        assert r.json()["id"] == str(watch_a.device.id)
        assert "api_key" not in r.json()

    def test_returns_404_for_another_persons_device(self, client_a, watch_b):
        r = client_a.get(detail(watch_b.device))
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


class TestChange:
    def test_it_changes_name_and_configuration(self, client_a, watch_a):
        r = client_a.patch(
            detail(watch_a.device), {"name": "Run watch", "configuration": {"metric_types": ["steps"]}}, format="json"
        )
        assert r.status_code == 200
        device = watch_a.refresh()
        assert device.name == "Run watch"
        assert device.configuration["metric_types"] == ["steps"]

    def test_an_invalid_configuration_changes_nothing(self, client_a, watch_a):
        before = watch_a.device.configuration
        r = client_a.patch(detail(watch_a.device), {"configuration": {"metric_types": ["weight"]}}, format="json")
        assert r.status_code == 400
        assert watch_a.refresh().configuration == before

    def test_put_is_not_allowed(self, client_a, watch_a):
        assert client_a.put(detail(watch_a.device), {"name": "x"}).status_code == 405

    def test_returns_404_for_another_persons_device_and_changes_nothing(self, client_a, watch_b):
        r = client_a.patch(detail(watch_b.device), {"name": "mine now"})
        assert r.status_code == 404
        assert watch_b.refresh().name != "mine now"


class TestForget:
    def test_it_deletes_my_device(self, client_a, watch_a):
        assert client_a.delete(detail(watch_a.device)).status_code == 204
        assert not IoTDevice.objects.filter(pk=watch_a.device.pk).exists()

    def test_the_key_of_a_deleted_device_no_longer_works(self, client_a, watch_a):
        client_a.delete(detail(watch_a.device))
        assert watch_a.client().get(f"{URL}me/config/").status_code == 401

    def test_returns_404_for_another_persons_device(self, client_a, watch_b):
        assert client_a.delete(detail(watch_b.device)).status_code == 404
        assert IoTDevice.objects.filter(pk=watch_b.device.pk).exists()


class TestDeactivate:
    def test_it_deactivates(self, client_a, watch_a):
        r = client_a.post(f"{detail(watch_a.device)}deactivate/")
        assert r.status_code == 200
        assert r.json()["status"] == "inactive"
        assert watch_a.refresh().status == "inactive"

    @pytest.mark.parametrize(
        "method, path, body",
        [
            ("get", "me/config/", None),
            ("post", "me/heartbeat/", {"battery_level": 50}),
            ("post", "me/verify/", {"verification_code": "00000000"}),
            ("post", "me/batches/", {"batch_id": "5b0ab8b4-58a3-4a2b-9a34-3c9f0d1f3a11", "readings": [{}]}),
        ],
    )
    def test_a_deactivated_device_answers_403_everywhere(self, client_a, watch_a, method, path, body):
        client_a.post(f"{detail(watch_a.device)}deactivate/")
        r = getattr(watch_a.client(), method)(f"{URL}{path}", body, format="json")
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "permission_denied"

    def test_returns_404_for_another_persons_device(self, client_a, watch_b):
        assert client_a.post(f"{detail(watch_b.device)}deactivate/").status_code == 404
        assert watch_b.refresh().status == "active"
