"""TOTP enrolment: POST auth/mfa/totp/, POST auth/mfa/totp/confirm/, DELETE auth/mfa/totp/, GET auth/mfa/totp/."""

from unittest import mock
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from accounts.choices import SecurityEventType
from accounts.models import RecoveryCode, SecurityEvent, TotpDevice
from tests.accounts.factories import PASSWORD, enrol_totp, totp_code

TOTP = "/api/v1/auth/mfa/totp/"
CONFIRM = "/api/v1/auth/mfa/totp/confirm/"

pytestmark = pytest.mark.django_db


def events(user, event_type) -> int:
    return SecurityEvent.objects.filter(user=user, event_type=event_type).count()


class TestEnrolmentStart:
    def test_answers_a_secret_and_an_otpauth_url_not_yet_active(self, client_a, user_a):
        r = client_a.post(TOTP)

        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"secret", "otpauth_url"}
        url = urlparse(body["otpauth_url"])
        assert url.scheme == "otpauth" and url.netloc == "totp"
        assert parse_qs(url.query)["secret"] == [body["secret"]] and parse_qs(url.query)["issuer"] == ["JEGHealth"]
        device = TotpDevice.objects.get(user=user_a)
        assert device.secret == body["secret"] and device.confirmed_at is None
        assert client_a.get(TOTP).json()["enabled"] is False

    def test_the_secret_is_encrypted_at_rest(self, client_a, user_a):
        secret = client_a.post(TOTP).json()["secret"]

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT secret FROM accounts_totpdevice WHERE user_id = %s",
                [TotpDevice._meta.pk.get_db_prep_value(user_a.pk, connection)],
            )
            (stored,) = cursor.fetchone()
        assert stored.startswith("fernet:") and secret not in stored

    def test_starting_again_replaces_the_pending_secret(self, client_a, user_a):
        first = client_a.post(TOTP).json()["secret"]

        second = client_a.post(TOTP).json()["secret"]

        assert first != second and TotpDevice.objects.get(user=user_a).secret == second

    def test_answers_409_when_mfa_is_already_on(self, client_a, user_a):
        secret, _ = enrol_totp(user_a)

        r = client_a.post(TOTP)

        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        assert TotpDevice.objects.get(user=user_a).secret == secret

    def test_answers_401_without_credentials(self, anon):
        assert anon.post(TOTP).status_code == 401
        assert not TotpDevice.objects.exists()


class TestThrottling:
    def test_writes_are_in_the_auth_scope_and_reading_the_state_is_not(self, client_a):
        rates = {"auth": "2/min", "user": "100/min", "anon": "100/min"}
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", rates):
            reads = [client_a.get(TOTP).status_code for _ in range(3)]
            writes = [client_a.post(CONFIRM, {"code": "000000"}).status_code for _ in range(3)]

        assert reads == [200, 200, 200]
        assert writes == [404, 404, 429]


class TestEnrolmentConfirm:
    def test_a_first_code_turns_mfa_on_and_answers_ten_recovery_codes_once(self, client_a, user_a):
        secret = client_a.post(TOTP).json()["secret"]

        r = client_a.post(CONFIRM, {"code": pyotp.TOTP(secret).now()})

        assert r.status_code == 200
        codes = r.json()["recovery_codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert TotpDevice.objects.get(user=user_a).confirmed_at is not None
        stored = set(RecoveryCode.objects.filter(user=user_a).values_list("code_hash", flat=True))
        assert len(stored) == 10 and not stored & set(codes)
        assert "tokens" not in r.json()
        assert events(user_a, SecurityEventType.MFA_ENROLLED) == 1
        status = client_a.get(TOTP).json()
        assert status["enabled"] is True and status["recovery_codes_left"] == 10
        assert secret not in str(status)

    def test_a_wrong_code_answers_400_and_is_a_security_event(self, client_a, user_a):
        client_a.post(TOTP)

        r = client_a.post(CONFIRM, {"code": "000000"})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["code"]
        assert TotpDevice.objects.get(user=user_a).confirmed_at is None
        assert not RecoveryCode.objects.filter(user=user_a).exists()
        assert events(user_a, SecurityEventType.MFA_FAILED) == 1

    def test_without_a_started_enrolment_answers_404(self, client_a):
        assert client_a.post(CONFIRM, {"code": "123456"}).status_code == 404

    def test_a_missing_code_answers_400_in_the_envelope(self, client_a):
        client_a.post(TOTP)

        r = client_a.post(CONFIRM, {})

        assert r.status_code == 400 and r.json()["error"]["fields"]["code"]

    def test_answers_401_without_credentials(self, anon):
        assert anon.post(CONFIRM, {"code": "123456"}).status_code == 401


class TestDisable:
    def test_password_and_code_turn_mfa_off(self, client_a, user_a):
        secret, _ = enrol_totp(user_a)

        r = client_a.delete(TOTP, {"password": PASSWORD, "code": totp_code(secret)})

        assert r.status_code == 204
        assert not TotpDevice.objects.filter(user=user_a).exists()
        assert not RecoveryCode.objects.filter(user=user_a).exists()
        assert events(user_a, SecurityEventType.MFA_DISABLED) == 1

    def test_a_recovery_code_may_stand_in_for_the_code(self, client_a, user_a):
        _, codes = enrol_totp(user_a)

        assert client_a.delete(TOTP, {"password": PASSWORD, "code": codes[3].lower()}).status_code == 204
        assert events(user_a, SecurityEventType.MFA_RECOVERY_CODE_USED) == 1

    def test_a_wrong_password_answers_400_and_changes_nothing(self, client_a, user_a):
        secret, _ = enrol_totp(user_a)

        r = client_a.delete(TOTP, {"password": "not-the-password", "code": totp_code(secret)})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["password"]
        assert TotpDevice.objects.filter(user=user_a, confirmed_at__isnull=False).exists()

    def test_a_wrong_code_answers_400_and_is_a_security_event(self, client_a, user_a):
        enrol_totp(user_a)

        r = client_a.delete(TOTP, {"password": PASSWORD, "code": "000000"})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["code"]
        assert TotpDevice.objects.filter(user=user_a).exists()
        assert events(user_a, SecurityEventType.MFA_FAILED) == 1

    def test_five_wrong_codes_lock_the_account(self, client_a, user_a):
        secret, _ = enrol_totp(user_a)
        for _ in range(5):
            client_a.delete(TOTP, {"password": PASSWORD, "code": "000000"})

        r = client_a.delete(TOTP, {"password": PASSWORD, "code": totp_code(secret)})

        assert r.status_code == 429 and r.json()["error"]["code"] == "account_locked"
        assert TotpDevice.objects.filter(user=user_a).exists()

    def test_when_mfa_is_off_answers_404(self, client_a):
        assert client_a.delete(TOTP, {"password": PASSWORD, "code": "123456"}).status_code == 404

    def test_answers_401_without_credentials(self, anon):
        assert anon.delete(TOTP, {"password": PASSWORD, "code": "123456"}).status_code == 401
