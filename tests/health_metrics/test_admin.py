"""The admin lists readings (filterable by type, source, anomaly, date), targets and rollups; readings are
read-only there, and deleting one goes through the service (its buckets are refreshed)."""

from __future__ import annotations

import pytest
from django.test import Client

from health_metrics.models import HealthMetric, PendingRollup
from tests.health_metrics.factories import HealthMetricFactory, TargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/health_metrics/healthmetric/",
        "/admin/health_metrics/healthmetric/?metric_type=heart_rate&source=manual&is_anomaly__exact=1",
        "/admin/health_metrics/healthmetric/?recorded_at__year=2025",
        "/admin/health_metrics/healthmetrictarget/",
        "/admin/health_metrics/healthmetricsummary/",
    ],
)
def test_it_lists_with_filters(staff, user_a, path):
    HealthMetricFactory(user=user_a, is_anomaly=True)
    TargetFactory(user=user_a)
    assert staff.get(path).status_code == 200


def test_a_reading_is_read_only(staff, user_a):
    reading = HealthMetricFactory(user=user_a)
    page = staff.get(f"/admin/health_metrics/healthmetric/{reading.pk}/change/")
    assert page.status_code == 200
    assert b'name="value"' not in page.content
    assert staff.get("/admin/health_metrics/healthmetric/add/").status_code == 403


def test_deleting_a_reading_goes_through_the_service(staff, user_a):
    reading = HealthMetricFactory(user=user_a)
    PendingRollup.objects.all().delete()
    response = staff.post(f"/admin/health_metrics/healthmetric/{reading.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not HealthMetric.objects.filter(pk=reading.pk).exists()
    assert PendingRollup.objects.filter(user=user_a).exists()
