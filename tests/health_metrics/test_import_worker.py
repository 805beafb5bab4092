"""Imports through the real stack: the API saves the upload, a Celery worker process (Redis, PostgreSQL) imports
it, and the person polls `imports/{id}/`. Each format end to end, and a re-import that stores nothing."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from health_metrics.models import HealthMetric
from tests.accounts.factories import UserFactory
from tests.alerts.test_worker import ON_POSTGRES, Stack, stack  # noqa: F401 - the fixture
from tests.conftest import client_for
from tests.health_metrics import import_files as files
from tests.servers import REDIS_SERVER

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="a worker process cannot share an SQLite test database; CI runs it"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (CI installs it)"),
    pytest.mark.django_db(transaction=True),
]

URL = "/api/v1/health-metrics/imports/"


def import_and_wait(
    client,
    stack: Stack,  # noqa: F811 - the fixture's value
    content: bytes,
    format: str,
    name: str,
) -> dict:
    response = client.post(URL, {"file": SimpleUploadedFile(name, content), "format": format}, format="multipart")
    assert response.status_code == 202, response.json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(URL + f"{response.json()['id']}/").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"the import did not finish:\n{stack.logs()}")


@pytest.mark.parametrize(
    ("content", "format", "name", "created"),
    [
        (files.apple_zip(files.apple_export(files.SAMPLE_BODY)), "apple_health", "export.zip", 13),
        (files.health_connect(files.HEALTH_CONNECT_RECORDS), "health_connect", "hc.json", 5),
        (
            files.fhir_bundle([files.observation("8867-4", 64, "/min", "2025-03-01T08:00:00+02:00")]),
            "fhir",
            "b.json",
            1,
        ),
    ],
    ids=["apple_health", "health_connect", "fhir"],
)
def test_a_worker_imports_each_format_and_a_reimport_stores_nothing(stack, content, format, name, created):  # noqa: F811
    person = UserFactory()
    client = client_for(person)
    stack.worker()

    first = import_and_wait(client, stack, content, format, name)
    again = import_and_wait(client, stack, content, format, name)

    assert (first["status"], first["created_count"]) == ("completed", created), first
    assert (again["status"], again["created_count"], again["duplicate_count"]) == ("completed", 0, created)
    assert HealthMetric.objects.filter(user=person).count() == created
    assert client.get("/api/v1/health-metrics/changes/").json()["changes"][0]["op"] == "upsert"
