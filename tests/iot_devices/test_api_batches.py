"""Uploading batches (device) and reading them back (owner): the envelope, replays, limits, scoping."""

from __future__ import annotations

import uuid
from unittest import mock

import orjson
import pytest
from django.test import override_settings
from rest_framework.settings import api_settings

from health_metrics.models import HealthMetric
from iot_devices.models import DeviceDataBatch
from iot_devices.tasks import process_batch

from .factories import heart_rates, pair_device

UPLOAD = "/api/v1/devices/me/batches/"

pytestmark = pytest.mark.django_db


def upload(client, readings, batch_id=None, **extra):
    body = {"batch_id": str(batch_id or uuid.uuid4()), "readings": readings, **extra}
    return client.post(UPLOAD, body, format="json")


class TestUpload:
    def test_it_accepts_a_batch_and_processes_it_after_commit(self, watch_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = upload(watch_a.client(), heart_rates(3))
        assert r.status_code == 202
        body = r.json()
        assert set(body) == {"id", "batch_id", "status", "received_count"}
        assert body["status"] == "received" and body["received_count"] == 3
        batch = DeviceDataBatch.objects.get(pk=body["id"])
        assert batch.status == "completed"
        assert HealthMetric.objects.filter(device_data_batch_id=batch.id).count() == 3

    def test_it_enqueues_only_after_commit(self, watch_a, django_capture_on_commit_callbacks):
        with mock.patch.object(process_batch, "apply_async") as enqueue:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                r = upload(watch_a.client(), heart_rates(2))
            enqueue.assert_not_called()
            for callback in callbacks:
                callback()
        enqueue.assert_called_once()
        assert enqueue.call_args.kwargs["args"] == [r.json()["id"]]

    def test_the_raw_payload_is_stored_as_received(self, watch_a):
        readings = heart_rates(2)
        r = upload(watch_a.client(), readings)
        batch = DeviceDataBatch.objects.get(pk=r.json()["id"])
        assert batch.payload == readings
        assert batch.status == "received"

    def test_an_upload_counts_as_a_sign_of_life(self, watch_a):
        upload(watch_a.client(), heart_rates(1))
        assert watch_a.refresh().last_seen_at is not None

    def test_a_replayed_batch_id_answers_the_same_batch_and_stores_nothing_twice(
        self, watch_a, django_capture_on_commit_callbacks
    ):
        batch_id = uuid.uuid4()
        readings = heart_rates(4)
        with django_capture_on_commit_callbacks(execute=True):
            first = upload(watch_a.client(), readings, batch_id)
        with (
            mock.patch.object(process_batch, "apply_async") as enqueue,
            django_capture_on_commit_callbacks(execute=True),
        ):
            again = upload(watch_a.client(), readings, batch_id)
        enqueue.assert_not_called()
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["status"] == "completed"
        assert DeviceDataBatch.objects.count() == 1
        assert HealthMetric.objects.count() == 4

    def test_the_same_batch_id_from_another_device_is_another_batch(self, user_a, watch_a):
        other = pair_device(user_a)
        batch_id = uuid.uuid4()
        assert upload(watch_a.client(), heart_rates(1), batch_id).status_code == 202
        assert upload(other.client(), heart_rates(1), batch_id).status_code == 202
        assert DeviceDataBatch.objects.filter(device_batch_id=batch_id).count() == 2

    def test_5000_readings_are_accepted(self, watch_a):
        with mock.patch.object(process_batch, "apply_async"):
            r = upload(watch_a.client(), heart_rates(5000))
        assert r.status_code == 202
        assert r.json()["received_count"] == 5000

    def test_5001_readings_are_refused_with_nothing_stored_or_enqueued(
        self, watch_a, django_capture_on_commit_callbacks
    ):
        with (
            mock.patch.object(process_batch, "apply_async") as enqueue,
            django_capture_on_commit_callbacks(execute=True),
        ):
            r = upload(watch_a.client(), heart_rates(5001))
        assert r.status_code == 400
        assert "readings" in r.json()["error"]["fields"]
        enqueue.assert_not_called()
        assert not DeviceDataBatch.objects.exists()
        assert not HealthMetric.objects.exists()

    @override_settings(IOT_BATCH_MAX_BODY_BYTES=1024)
    def test_a_body_over_the_cap_is_413_before_parsing(self, watch_a):
        with mock.patch("jeghealth_backend.api.parsers.JSONParser.parse") as parse:
            r = upload(watch_a.client(), heart_rates(50))
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        parse.assert_not_called()
        assert not DeviceDataBatch.objects.exists()

    def test_a_body_over_4_mib_is_413(self, watch_a):
        padding = "x" * 1000
        readings = [{**r, "notes": padding} for r in heart_rates(4500)]
        body = orjson.dumps({"batch_id": str(uuid.uuid4()), "readings": readings})
        assert 4 * 1024 * 1024 < len(body) < 10 * 1024 * 1024
        r = watch_a.client().generic("POST", UPLOAD, body, content_type="application/json")
        assert r.status_code == 413
        assert not DeviceDataBatch.objects.exists()

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"batch_id": "not-a-uuid", "readings": [{}]}, "batch_id"),
            ({"readings": [{}]}, "batch_id"),
            ({"batch_id": str(uuid.uuid4()), "readings": []}, "readings"),
            ({"batch_id": str(uuid.uuid4()), "readings": {"metric_type": "heart_rate"}}, "readings"),
            ({"batch_id": str(uuid.uuid4())}, "readings"),
        ],
    )
    def test_a_malformed_envelope_is_400(self, watch_a, body, field):
        r = watch_a.client().post(UPLOAD, body, format="json")
        assert r.status_code == 400
        assert field in r.json()["error"]["fields"]
        assert not DeviceDataBatch.objects.exists()

    def test_a_body_that_is_not_json_is_400(self, watch_a):
        r = watch_a.client().generic("POST", UPLOAD, b"{readings: oops", content_type="application/json")
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "parse_error"

    def test_a_persons_token_is_401(self, client_a):
        assert upload(client_a, heart_rates(1)).status_code == 401
        assert not DeviceDataBatch.objects.exists()

    def test_uploads_are_throttled_per_device(self, watch_a, watch_b, monkeypatch):
        rates = {**api_settings.DEFAULT_THROTTLE_RATES, "device": "2/min"}
        monkeypatch.setattr(api_settings, "DEFAULT_THROTTLE_RATES", rates)
        with mock.patch.object(process_batch, "apply_async"):
            assert upload(watch_a.client(), heart_rates(1)).status_code == 202
            assert upload(watch_a.client(), heart_rates(1)).status_code == 202
            r = upload(watch_a.client(), heart_rates(1))
            assert r.status_code == 429
            assert int(r["Retry-After"]) >= 1
            assert upload(watch_b.client(), heart_rates(1)).status_code == 202
        assert DeviceDataBatch.objects.filter(device=watch_a.device).count() == 2


class TestOwnerBatches:
    def url(self, device, batch=None) -> str:
        base = f"/api/v1/devices/{device.id}/batches/"
        return f"{base}{batch}/" if batch else base

    def test_it_lists_a_devices_batches(self, client_a, watch_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            first = upload(watch_a.client(), heart_rates(2)).json()
        r = client_a.get(self.url(watch_a.device))
        assert r.status_code == 200
        assert r.json()["count"] == 1
        item = r.json()["results"][0]
        assert item["id"] == first["id"]
        assert item["accepted_count"] == 2 and item["rejected_count"] == 0 and item["errors"] == []
        assert "payload" not in item

    def test_the_list_costs_a_fixed_number_of_queries(self, client_a, watch_a, django_assert_max_num_queries):
        with mock.patch.object(process_batch, "apply_async"):
            for _ in range(5):
                upload(watch_a.client(), heart_rates(3))
        with django_assert_max_num_queries(5):
            r = client_a.get(self.url(watch_a.device))
        assert r.json()["count"] == 5

    def test_it_answers_one_batch_with_its_errors(self, client_a, watch_a, django_capture_on_commit_callbacks):
        readings = [*heart_rates(1), {"metric_type": "heart_rate", "value": 999, "recorded_at": "2025-01-01T00:00Z"}]
        with django_capture_on_commit_callbacks(execute=True):
            batch = upload(watch_a.client(), readings).json()
        r = client_a.get(self.url(watch_a.device, batch["id"]))
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "partially_failed"
        assert body["errors"][0]["index"] == 1
        assert body["errors"][0]["code"] == "invalid"
        assert "value" in body["errors"][0]["fields"]

    def test_it_filters_by_status(self, client_a, watch_a):
        with mock.patch.object(process_batch, "apply_async"):
            upload(watch_a.client(), heart_rates(1))
        assert client_a.get(self.url(watch_a.device), {"status": "completed"}).json()["count"] == 0
        assert client_a.get(self.url(watch_a.device), {"status": "received"}).json()["count"] == 1

    def test_returns_404_for_another_persons_device_or_batch(self, client_a, watch_b):
        with mock.patch.object(process_batch, "apply_async"):
            batch = upload(watch_b.client(), heart_rates(1)).json()
        assert client_a.get(self.url(watch_b.device)).status_code == 404
        assert client_a.get(self.url(watch_b.device, batch["id"])).status_code == 404

    def test_a_batch_of_another_device_of_mine_is_404_under_this_one(self, client_a, user_a, watch_a):
        other = pair_device(user_a)
        with mock.patch.object(process_batch, "apply_async"):
            batch = upload(other.client(), heart_rates(1)).json()
        assert client_a.get(self.url(watch_a.device, batch["id"])).status_code == 404

    def test_it_requires_a_token(self, anon, watch_a):
        assert anon.get(self.url(watch_a.device)).status_code == 401
