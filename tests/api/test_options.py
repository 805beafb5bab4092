"""`OPTIONS` describes what a route takes (DRF's metadata), on collection routes that take PUT as on objects, and
never answers 500 (jeghealth_backend/api/metadata.py)."""

from __future__ import annotations

import pytest

from tests.alerts.factories import AlertThresholdFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/health-metrics/"
THRESHOLDS = "/api/v1/notifications/alert-thresholds/"


def test_a_collection_route_that_takes_put_describes_it(client_a):
    response = client_a.options(BASE + "source-priority/")

    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]


def test_ones_own_object_describes_its_put(client_a, user_a):
    threshold = AlertThresholdFactory(user=user_a)

    response = client_a.options(THRESHOLDS + f"{threshold.pk}/")

    assert response.status_code == 200
    assert "PUT" in response.json()["actions"], response.json()


def test_another_persons_object_describes_no_put(client_a, user_b):
    threshold = AlertThresholdFactory(user=user_b)

    response = client_a.options(THRESHOLDS + f"{threshold.pk}/")

    assert response.status_code == 200
    assert "PUT" not in response.json().get("actions", {})
