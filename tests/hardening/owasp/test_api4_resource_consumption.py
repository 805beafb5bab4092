"""OWASP API4 Unrestricted Resource Consumption (2023); what the modules share: the package docstring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from health_metrics.models import HealthMetric
from iot_devices.models import DeviceDataBatch
from iot_devices.tasks import process_batch
from tests.accounts.factories import PASSWORD
from tests.hardening.owasp.common import BATCHES, LOGIN, OPENAPI, TIGHT
from tests.hardening.routes import (
    list_routes,
)
from tests.iot_devices.factories import heart_rates, pair_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


class TestAPI4UnrestrictedResourceConsumption:
    @pytest.mark.parametrize("path", list_routes(OPENAPI))
    def test_no_page_holds_more_than_200_whatever_the_limit_asked(self, path, world_a, api):
        r = api(world_a.owner).get(path.format(**world_a.ids.get(path, {})), {"limit": 100000})

        assert r.status_code == 200, r.content
        assert {"count", "next", "previous", "results"} <= set(r.json())
        assert len(r.json()["results"]) <= 200

    def test_a_list_longer_than_200_is_cut_at_200_with_a_next_page(self, user_a, api):
        start = datetime(2025, 1, 1, tzinfo=UTC)
        HealthMetric.objects.bulk_create(
            HealthMetric(user=user_a, metric_type="heart_rate", value=70, unit="bpm", entered_value=70,
                         entered_unit="bpm", recorded_at=start + timedelta(minutes=i), source="manual")
            for i in range(230)
        )  # fmt: skip

        r = api(user_a).get("/api/v1/health-metrics/", {"limit": 100000})

        assert (r.json()["count"], len(r.json()["results"])) == (230, 200)
        assert "offset=200" in r.json()["next"]

    def test_a_device_batch_over_5000_readings_is_refused_stored_nowhere_and_not_enqueued(self, user_a):
        watch = pair_device(user_a)
        with mock.patch.object(process_batch, "apply_async") as enqueue:
            r = watch.client().post(
                BATCHES, {"batch_id": str(uuid.uuid4()), "readings": heart_rates(5001)}, format="json"
            )

        assert r.status_code == 400
        assert "readings" in r.json()["error"]["fields"]
        assert not DeviceDataBatch.objects.exists()
        enqueue.assert_not_called()

    def test_a_bulk_upload_over_1000_readings_is_refused_and_stores_nothing(self, user_a, api):
        metrics = [{"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-01-01T00:00:00Z"}] * 1001

        r = api(user_a).post("/api/v1/health-metrics/bulk/", {"metrics": metrics}, format="json")

        assert r.status_code == 400
        assert not HealthMetric.objects.exists()

    @pytest.mark.parametrize("path", ["/api/v1/health-metrics/bulk/", "/api/v1/auth/register/", BATCHES])
    def test_a_body_over_10_mib_answers_413_before_it_is_read(self, path, user_a, api):
        body = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'

        r = api(user_a).generic("POST", path, body, content_type="application/json")

        assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")

    def test_a_device_batch_over_its_own_cap_answers_413(self, user_a):
        body = b'{"batch_id": "x", "readings": "' + b"a" * settings.IOT_BATCH_MAX_BODY_BYTES + b'"}'

        r = pair_device(user_a).client().generic("POST", BATCHES, body, content_type="application/json")

        assert r.status_code == 413

    def test_a_person_over_the_user_rate_gets_429_with_retry_after(self, user_a, api):
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", TIGHT):
            statuses = [api(user_a).get("/api/v1/notifications/unread-count/").status_code for _ in range(4)]
            r = api(user_a).get("/api/v1/notifications/unread-count/")

        assert statuses[:3] == [200, 200, 200]
        assert r.status_code == 429
        assert 1 <= int(r["Retry-After"]) <= 60

    def test_a_device_over_its_rate_gets_429_with_retry_after(self, user_a, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": TIGHT}
        watch = pair_device(user_a)

        answers = [watch.client().post("/api/v1/devices/me/heartbeat/", {}) for _ in range(4)]

        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[3]["Retry-After"]) <= 60

    def test_logins_from_one_address_over_the_auth_rate_get_429(self, anon, user_a):
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", TIGHT):
            for i in range(3):
                anon.post(LOGIN, {"email": f"nobody{i}@example.org", "password": "x"})
            r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 429
        assert int(r["Retry-After"]) >= 1
