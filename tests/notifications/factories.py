import factory
from django.utils import timezone

from health_metrics.models import HealthMetric
from notifications.models import EmergencyContact, PushToken
from tests.accounts.factories import UserFactory


class PushTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushToken

    user = factory.SubFactory(UserFactory)
    token = factory.Sequence(lambda n: f"ExponentPushToken[test{n:06d}]")
    platform = "ios"


class EmergencyContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmergencyContact

    user = factory.SubFactory(UserFactory)
    name = factory.Faker("name")
    relationship = "sister"
    phone_number = "+33 6 12 34 56 78"
    email = factory.Sequence(lambda n: f"contact{n}@example.net")
    notify_on_critical = True


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
