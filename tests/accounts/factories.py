import factory
from django.contrib.auth import get_user_model

from accounts.models import Role, UserRole

PASSWORD = "Corr3ct-Horse-Battery"


class UserFactory(factory.django.DjangoModelFactory):
    """A person with the `user` role and an empty profile, made through the manager like a real sign-up."""

    class Meta:
        model = get_user_model()

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_email_verified = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class UnverifiedUserFactory(UserFactory):
    is_email_verified = False


class DoctorFactory(UserFactory):
    class Meta:
        # The hook writes a UserRole row; the user itself is unchanged and needs no second save.
        skip_postgeneration_save = True

    @factory.post_generation
    def doctor_role(self, create, extracted, **kwargs):
        if create:
            role, _ = Role.objects.get_or_create(name="doctor")
            UserRole.objects.get_or_create(user=self, role=role)


class AdminFactory(UserFactory):
    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_superuser(*args, password=password, **kwargs)


def registration(**overrides) -> dict:
    """A valid body for POST auth/register/, as the mobile app sends it."""
    n = next(_registrations)
    body = {
        "email": f"newcomer{n}@example.org",
        "username": f"newcomer{n}",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    body.update(overrides)
    return body


_registrations = iter(range(1, 10**9))


def totp_code(secret: str, *, steps_ahead: int = 0) -> str:
    """The authenticator app's code for SECRET now (or STEPS_AHEAD 30-second steps later, still accepted for
    one step of clock drift): a code is accepted once, so a test that needs two uses the next step's."""
    import time

    import pyotp

    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def enrol_totp(user) -> tuple[str, list[str]]:
    """Turn MFA on for USER as the app would (start, then confirm with a code); answers (secret, recovery codes).

    The confirming code is the previous step's, so that the current one and the next one stay usable in the test.
    """
    from accounts import mfa

    secret = mfa.totp_enrolment_start(user=user)["secret"]
    codes = mfa.totp_enrolment_confirm(user=user, code=totp_code(secret, steps_ahead=-1))
    return secret, codes
