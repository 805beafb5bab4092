"""Fixtures of the alerts tests: people who post readings through the API, and the local Expo and SMTP servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.notifications.conftest import expo, smtp  # noqa: F401  (fixtures shared with notifications)

BASE = "/api/v1/health-metrics/"
ALERTS = "/api/v1/alerts/"


def ago(**delta) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


@pytest.fixture
def post_reading(django_capture_on_commit_callbacks):
    """`post_reading(client, metric_type=…, value=…, recorded_at=…)`: a manual reading through the API, with the
    work after commit (detection, the alert rules) run as a worker would."""

    def post(client, **body):
        body.setdefault("recorded_at", timezone.now().isoformat())
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(BASE, body, format="json")
        assert response.status_code in (200, 201), response.content
        return response.json()

    return post
