"""GET /api/v1/health/: database, cache and broker; 503 when the database is down."""

from unittest import mock

import pytest
from django.db import OperationalError

from jeghealth_backend.api import health

URL = "/api/v1/health/"

pytestmark = pytest.mark.django_db


def broken_connection() -> mock.Mock:
    connection = mock.Mock()
    connection.cursor.side_effect = OperationalError("could not connect to server")
    return connection


class TestHealthy:
    def test_answers_200_ok_with_every_check(self, anon):
        r = anon.get(URL)

        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "ok"
        assert set(body["checks"]) == {"database", "cache", "broker"}
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["cache"] == "ok"

    def test_needs_no_credentials_and_ignores_bad_ones(self, anon):
        anon.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")

        assert anon.get(URL).status_code == 200

    def test_eager_tasks_report_the_broker_as_eager(self, anon, settings):
        settings.CELERY_TASK_ALWAYS_EAGER = True

        assert anon.get(URL).json()["checks"]["broker"] == "eager"


class TestDatabaseDown:
    def test_answers_503(self, anon):
        with mock.patch.object(health, "connection", broken_connection()):
            r = anon.get(URL)

        assert r.status_code == 503
        assert r.json()["checks"]["database"] == "error"
        assert r.json()["status"] == "error"

    def test_the_503_is_also_an_error_envelope(self, anon):
        with mock.patch.object(health, "connection", broken_connection()):
            r = anon.get(URL)

        assert r.json()["error"]["code"] == "service_unavailable"

    def test_the_failure_is_logged_without_failing_the_request(self, anon, caplog):
        with mock.patch.object(health, "connection", broken_connection()):
            anon.get(URL)

        assert any(record.getMessage() == "health_database_down" for record in caplog.records)


class TestDegraded:
    def test_a_cache_that_fails_is_reported_but_not_fatal(self, anon):
        with mock.patch.object(health.cache, "set", side_effect=ConnectionError("redis down")):
            r = anon.get(URL)

        assert r.status_code == 200
        assert r.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "error", "broker": "eager"}}

    def test_a_broker_that_fails_is_reported_but_not_fatal(self, anon, settings):
        settings.CELERY_TASK_ALWAYS_EAGER = False
        with mock.patch("jeghealth_backend.celery.app.connection_for_write", side_effect=OSError("refused")):
            r = anon.get(URL)

        assert r.status_code == 200
        assert r.json()["checks"]["broker"] == "error"
        assert r.json()["status"] == "degraded"

    def test_a_reachable_broker_is_ok(self, anon, settings):
        settings.CELERY_TASK_ALWAYS_EAGER = False
        with mock.patch("jeghealth_backend.celery.app.connection_for_write") as connect:
            r = anon.get(URL)

        connect.return_value.__enter__.return_value.ensure_connection.assert_called_once()
        assert r.json()["checks"]["broker"] == "ok"
