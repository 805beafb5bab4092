import factory
from django.utils import timezone

from alerts.models import AlertThreshold
from health_metrics.models import HealthMetric
from tests.accounts.factories import UserFactory


class AlertThresholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertThreshold

    user = factory.SubFactory(UserFactory)
    metric_type = "heart_rate"
    min_value = 40.0
    max_value = 120.0
    severity = "warning"


UNITS = {"blood_pressure": "mmHg", "heart_rate": "bpm", "blood_sugar": "mg/dL", "weight": "kg"}


def reading(user, metric_type: str = "heart_rate", value=None, *, systolic=None, diastolic=None, at=None, **extra):
    """A stored reading, as the health metrics app or device ingestion would have written it."""
    return HealthMetric.objects.create(
        user=user,
        metric_type=metric_type,
        value=value,
        systolic_value=systolic,
        diastolic_value=diastolic,
        unit=UNITS.get(metric_type, "unit"),
        recorded_at=at or timezone.now(),
        **extra,
    )
