"""Readings and targets as the API would have stored them (canonical units, `manual` source)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import factory

from health_metrics.models import HealthMetric, HealthMetricTarget
from health_metrics.services import metrics_changed
from jeghealth_backend.metric_catalog import CATALOG
from tests.accounts.factories import UserFactory


class HealthMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthMetric

    id = factory.LazyFunction(uuid.uuid4)
    user = factory.SubFactory(UserFactory)
    metric_type = "heart_rate"
    value = 72.0
    unit = factory.LazyAttribute(lambda o: CATALOG[o.metric_type].unit)
    entered_value = factory.LazyAttribute(lambda o: o.value)
    entered_unit = factory.LazyAttribute(lambda o: CATALOG[o.metric_type].unit)
    # One minute apart, so device readings never share the (device, type, time) key.
    recorded_at = factory.Sequence(lambda n: datetime(2025, 7, 24, 12, 0, tzinfo=UTC) - timedelta(minutes=n))
    source = "manual"
    is_manual_entry = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Like every write path, announce the reading: its buckets are pending a rollup refresh (which runs
        # only when a test captures on-commit callbacks) and summaries aggregate them directly meanwhile.
        metric = super()._create(model_class, *args, **kwargs)
        metrics_changed(
            user_id=metric.user_id, metric_types=[metric.metric_type], start=metric.recorded_at, end=metric.recorded_at
        )
        return metric


class BloodPressureFactory(HealthMetricFactory):
    metric_type = "blood_pressure"
    value = None
    systolic_value = 120.0
    diastolic_value = 80.0
    entered_value = None


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthMetricTarget

    user = factory.SubFactory(UserFactory)
    metric_type = "steps"
    target_type = "minimum"
    target_value = 10_000
    period = "daily"
    start_date = factory.LazyFunction(lambda: datetime(2025, 7, 1, tzinfo=UTC).date())
