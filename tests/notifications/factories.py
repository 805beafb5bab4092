import factory

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
