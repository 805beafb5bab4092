"""With Redis down (cache, throttles and broker all on it), people and devices are still served from PostgreSQL:
the throttles and cached reads fail open to a per-process fallback, a device batch is stored and answered 202, and
the outbox sweeper enqueues it once Redis is back. The Redis here is a throwaway one of this module, stopped for
each test; tests/hardening/test_faults.py does the same against a whole gunicorn + Celery stack."""

from __future__ import annotations

import uuid
from datetime import timedelta
from unittest import mock

import pytest
import redis
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from health_metrics.models import HealthMetric
from iot_devices import ingestion
from iot_devices.models import DeviceDataBatch
from jeghealth_backend.celery import app as celery_app
from tests.accounts.factories import PASSWORD, registration
from tests.iot_devices.factories import pair_device, reading
from tests.servers import REDIS_SERVER, RedisServer

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (CI installs it)"),
]


@pytest.fixture(scope="module")
def server():
    started = RedisServer()
    started.start()
    yield started
    started.close()


def forget_broker_connections() -> None:
    """Drop the app's producer pool, which keeps the broker URL it was made with (what Celery does after a fork;
    `app.close()` would also unregister the app, and shared tasks would no longer find it)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_down(server, settings):
    """Cache and broker on this module's Redis, as a deployment has them (tasks not eager), with Redis stopped."""
    settings.CACHES = {
        "default": {
            "BACKEND": "jeghealth_backend.cache.ResilientRedisCache",
            "LOCATION": server.url(1),
            "KEY_PREFIX": "outage",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    conf = celery_app.conf
    # Read before the Django setting below changes: Celery falls back to the settings for what it was not told.
    saved = conf.broker_url, conf.broker_transport_options, conf.task_always_eager, conf.task_eager_propagates
    settings.CELERY_TASK_ALWAYS_EAGER = False
    forget_broker_connections()
    # No key prefix (the test settings give the suite's broker one): the queue is `ingest`, as in a deployment.
    conf.broker_url, conf.broker_transport_options = server.url(1), {}
    conf.task_always_eager = conf.task_eager_propagates = False
    server.stop()
    yield server
    forget_broker_connections()
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager, conf.task_eager_propagates = saved
    if not server.ping():
        server.start()


class TestDevicesWithRedisDown:
    def test_a_batch_upload_is_stored_and_answered_202(self, user_a, redis_down, django_capture_on_commit_callbacks):
        watch = pair_device(user_a)

        with django_capture_on_commit_callbacks(execute=True):
            r = watch.client().post(
                "/api/v1/devices/me/batches/", {"batch_id": str(uuid.uuid4()), "readings": [reading()]}, format="json"
            )

        assert r.status_code == 202, r.content
        assert DeviceDataBatch.objects.get(pk=r.json()["id"]).status == "received"

    def test_the_sweeper_enqueues_the_batch_once_redis_is_back(
        self, user_a, redis_down, django_capture_on_commit_callbacks
    ):
        watch = pair_device(user_a)
        with django_capture_on_commit_callbacks(execute=True):
            r = watch.client().post(
                "/api/v1/devices/me/batches/", {"batch_id": str(uuid.uuid4()), "readings": [reading()]}, format="json"
            )
        redis_down.start()

        enqueued = ingestion.batches_requeue_stale(now=timezone.now() + timedelta(minutes=5))

        assert enqueued == 1
        queued = redis.Redis.from_url(redis_down.url(1)).lrange("ingest", 0, -1)
        assert len(queued) == 1 and r.json()["id"].encode() in queued[0]

    def test_a_heartbeat_answers_200(self, user_a, redis_down):
        r = pair_device(user_a).client().post("/api/v1/devices/me/heartbeat/", {"battery_level": 80}, format="json")

        assert r.status_code == 200, r.content


class TestPeopleWithRedisDown:
    def test_login_answers_200_with_tokens(self, anon, user_a, redis_down):
        r = anon.post("/api/v1/auth/login/", {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 200, r.content
        assert set(r.json()["tokens"]) == {"access", "refresh"}

    def test_a_wrong_password_still_counts_towards_the_lockout(self, anon, user_a, redis_down):
        for _ in range(5):
            anon.post("/api/v1/auth/login/", {"email": user_a.email, "password": "wrong-password-1"})

        r = anon.post("/api/v1/auth/login/", {"email": user_a.email, "password": PASSWORD})

        assert r.status_code == 429
        assert r.json()["error"]["code"] == "account_locked"

    def test_sign_up_answers_201(self, anon, redis_down, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = anon.post("/api/v1/auth/register/", registration())

        assert r.status_code == 201, r.content

    def test_a_manual_reading_is_stored_and_read_back(self, client_a, redis_down, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = client_a.post("/api/v1/health-metrics/", reading(value=64), format="json")

        assert r.status_code == 201, r.content
        assert HealthMetric.objects.filter(pk=r.json()["id"]).exists()
        latest = client_a.get("/api/v1/health-metrics/latest/")
        assert latest.status_code == 200
        assert latest.json()["heart_rate"]["id"] == r.json()["id"]

    def test_the_dashboard_is_computed_from_the_database(self, client_a, redis_down):
        assert client_a.get("/api/v1/dashboard/").status_code == 200

    def test_the_throttle_still_counts_per_process(self, anon, redis_down):
        # DRF reads the rates when its throttle class is defined, so the class attribute is patched.
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "3/min", "anon": "100/min"}):
            answers = [
                anon.post("/api/v1/auth/password-reset/", {"email": "someone@example.org"}).status_code
                for _ in range(4)
            ]

        assert answers == [200, 200, 200, 429]


class TestHealthWithRedisDown:
    def test_answers_200_degraded_and_names_the_fallback(self, anon, redis_down):
        r = anon.get("/api/v1/health/")

        assert r.status_code == 200
        assert r.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "fallback", "broker": "error"}}
