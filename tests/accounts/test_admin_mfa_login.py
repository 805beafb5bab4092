"""The Django admin's sign-in asks for the second factor, driven through its login form with the test client."""

import pytest
from axes.models import AccessAttempt

from accounts.choices import SecurityEventType
from accounts.models import SecurityEvent
from tests.accounts.factories import PASSWORD, AdminFactory, UserFactory, enrol_totp, totp_code

LOGIN = "/admin/login/"
INDEX = "/admin/"

pytestmark = pytest.mark.django_db


def sign_in(client, user, code: str | None = None):
    body = {"username": user.email, "password": PASSWORD, "next": INDEX}
    if code is not None:
        body["otp_code"] = code
    return client.post(f"{LOGIN}?next={INDEX}", body)


def signed_in(client) -> bool:
    return client.get(INDEX).status_code == 200


class TestAdminSecondFactor:
    def test_the_login_page_asks_for_the_code(self, client):
        page = client.get(LOGIN).content.decode()

        assert 'name="otp_code"' in page and "Two-factor code" in page

    def test_an_admin_with_mfa_signs_in_with_password_and_code(self, client):
        admin = AdminFactory()
        secret, _ = enrol_totp(admin)

        r = sign_in(client, admin, totp_code(secret))

        assert r.status_code == 302 and r["Location"] == INDEX
        assert signed_in(client)

    def test_the_password_alone_is_refused(self, client):
        admin = AdminFactory()
        enrol_totp(admin)

        r = sign_in(client, admin)

        assert r.status_code == 200 and "Enter the code of your authenticator app" in r.content.decode()
        assert not signed_in(client)

    def test_a_wrong_code_is_refused_recorded_and_counted(self, client):
        admin = AdminFactory()
        enrol_totp(admin)

        r = sign_in(client, admin, "000000")

        assert r.status_code == 200 and "This code is not valid" in r.content.decode()
        assert not signed_in(client)
        event = SecurityEvent.objects.get(user=admin, event_type=SecurityEventType.MFA_FAILED)
        assert event.metadata["stage"] == "admin"
        assert AccessAttempt.objects.get(username=admin.email).failures_since_start == 1

    def test_a_recovery_code_works_once(self, client):
        admin = AdminFactory()
        _, codes = enrol_totp(admin)

        assert sign_in(client, admin, codes[0]).status_code == 302
        client.logout()
        r = sign_in(client, admin, codes[0])

        assert r.status_code == 200 and "already been used" in r.content.decode()
        assert (
            SecurityEvent.objects.filter(user=admin, event_type=SecurityEventType.MFA_RECOVERY_CODE_USED).count() == 1
        )

    def test_a_code_is_not_accepted_twice(self, client):
        admin = AdminFactory()
        secret, _ = enrol_totp(admin)
        code = totp_code(secret)
        sign_in(client, admin, code)
        client.logout()

        r = sign_in(client, admin, code)

        assert r.status_code == 200
        assert not signed_in(client)

    def test_staff_without_mfa_must_enrol_first(self, client):
        admin = AdminFactory()

        r = sign_in(client, admin)

        assert r.status_code == 200 and "Turn it on in the app" in r.content.decode()
        assert not signed_in(client)

    def test_staff_without_mfa_sign_in_when_no_role_requires_it(self, client, settings):
        settings.MFA_REQUIRED_ROLES = []
        admin = AdminFactory()

        assert sign_in(client, admin).status_code == 302
        assert signed_in(client)

    def test_a_person_who_is_not_staff_is_refused_whatever_the_code(self, client):
        person = UserFactory()
        secret, _ = enrol_totp(person)

        r = sign_in(client, person, totp_code(secret))

        assert r.status_code == 200
        assert not signed_in(client)
