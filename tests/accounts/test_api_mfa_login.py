"""Signing in with MFA: login/ answers a challenge, login/mfa/ trades it and a code for tokens; and the enrolment
that MFA_REQUIRED_ROLES forces on doctors and admins."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.choices import SecurityEventType
from accounts.models import AuthSession, MfaChallenge, SecurityEvent
from tests.accounts.factories import PASSWORD, AdminFactory, DoctorFactory, enrol_totp, totp_code
from tests.conftest import client_for

LOGIN = "/api/v1/auth/login/"
LOGIN_MFA = "/api/v1/auth/login/mfa/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/current-user/"
TOTP = "/api/v1/auth/mfa/totp/"
CONFIRM = "/api/v1/auth/mfa/totp/confirm/"

pytestmark = pytest.mark.django_db


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def challenge_for(anon, user) -> str:
    r = anon.post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.content
    return r.json()["challenge"]


@pytest.fixture
def enrolled(user_a):
    secret, codes = enrol_totp(user_a)
    return {"user": user_a, "secret": secret, "codes": codes}


class TestLoginWithMfaOn:
    def test_the_password_answers_a_challenge_and_no_tokens(self, anon, enrolled):
        r = anon.post(LOGIN, {"email": enrolled["user"].email, "password": PASSWORD})

        assert r.status_code == 200
        assert set(r.json()) == {"mfa_required", "challenge"} and r.json()["mfa_required"] is True
        assert not AuthSession.objects.filter(user=enrolled["user"]).exists()
        assert not SecurityEvent.objects.filter(user=enrolled["user"], event_type=SecurityEventType.LOGIN).exists()

    def test_the_challenge_is_stored_only_as_a_digest(self, anon, enrolled):
        raw = challenge_for(anon, enrolled["user"])

        stored = MfaChallenge.objects.get(user=enrolled["user"])
        assert stored.token_hash != raw and raw not in stored.token_hash and len(stored.token_hash) == 64

    def test_challenge_and_code_answer_the_user_and_working_tokens(self, anon, enrolled):
        challenge = challenge_for(anon, enrolled["user"])

        r = anon.post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(enrolled["secret"])})

        assert r.status_code == 200
        assert set(r.json()) == {"user", "tokens"} and r.json()["user"]["id"] == str(enrolled["user"].pk)
        assert bearer(r.json()["tokens"]["access"]).get(ME).status_code == 200
        login = SecurityEvent.objects.get(user=enrolled["user"], event_type=SecurityEventType.LOGIN)
        assert login.metadata == {"mfa": "totp"}
        enrolled["user"].refresh_from_db()
        assert enrolled["user"].last_login is not None

    def test_a_challenge_works_once(self, anon, enrolled):
        challenge = challenge_for(anon, enrolled["user"])
        anon.post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(enrolled["secret"])})

        r = anon.post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(enrolled["secret"], steps_ahead=1)})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["challenge"]

    def test_a_totp_code_is_not_accepted_twice(self, anon, enrolled):
        code = totp_code(enrolled["secret"])
        anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": code})

        r = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": code})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["code"]

    def test_a_wrong_code_answers_400_and_is_a_security_event(self, anon, enrolled):
        r = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": "000000"})

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error" and list(r.json()["error"]["fields"]) == ["code"]
        assert "tokens" not in r.json()
        failed = SecurityEvent.objects.get(user=enrolled["user"], event_type=SecurityEventType.MFA_FAILED)
        assert failed.metadata == {"stage": "login", "reason": "wrong"}

    def test_five_wrong_codes_end_the_challenge(self, anon, enrolled, settings):
        settings.AXES_FAILURE_LIMIT = 10  # the challenge's own limit, apart from the account's lockout
        challenge = challenge_for(anon, enrolled["user"])
        answers = [anon.post(LOGIN_MFA, {"challenge": challenge, "code": "000000"}) for _ in range(5)]

        r = anon.post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(enrolled["secret"])})

        assert [a.status_code for a in answers] == [400] * 5
        assert "sign-in has ended" in answers[-1].json()["error"]["message"]
        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["challenge"]
        assert MfaChallenge.objects.get(user=enrolled["user"]).ended_at is not None

    def test_wrong_codes_lock_the_account_like_wrong_passwords(self, anon, enrolled):
        for _ in range(5):
            anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": "000000"})

        r = anon.post(LOGIN, {"email": enrolled["user"].email, "password": PASSWORD})

        assert r.status_code == 429 and r.json()["error"]["code"] == "account_locked"

    def test_a_locked_account_is_refused_at_the_second_step_whatever_the_code(self, anon, enrolled):
        challenge = challenge_for(anon, enrolled["user"])
        for _ in range(4):
            anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": "000000"})
        anon.post(LOGIN, {"email": enrolled["user"].email, "password": "wrong-password"})

        r = anon.post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(enrolled["secret"])})

        assert r.status_code == 429 and r.json()["error"]["code"] == "account_locked"

    def test_the_challenge_expires_after_five_minutes(self, anon, enrolled):
        challenge = challenge_for(anon, enrolled["user"])

        with freeze_time(timezone.now() + timedelta(minutes=5, seconds=1)):
            r = anon.post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(enrolled["secret"])})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["challenge"]

    def test_an_unknown_challenge_answers_400(self, anon, enrolled):
        r = anon.post(LOGIN_MFA, {"challenge": "not-a-challenge", "code": totp_code(enrolled["secret"])})

        assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["challenge"]

    def test_missing_fields_answer_400_in_the_envelope(self, anon):
        r = anon.post(LOGIN_MFA, {})

        assert r.status_code == 400 and set(r.json()["error"]["fields"]) == {"challenge", "code"}

    def test_the_second_step_is_throttled_in_the_auth_scope(self, anon, enrolled):
        with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "2/min", "anon": "100/min"}):
            statuses = [anon.post(LOGIN_MFA, {"challenge": "x", "code": "000000"}).status_code for _ in range(3)]

        assert statuses == [400, 400, 429]


class TestRecoveryCodes:
    def test_a_recovery_code_signs_in_once_and_is_recorded(self, anon, enrolled):
        code = enrolled["codes"][0]

        first = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": code})
        again = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": code})

        assert first.status_code == 200 and "tokens" in first.json()
        assert again.status_code == 400 and "already been used" in again.json()["error"]["fields"]["code"][0]
        used = SecurityEvent.objects.get(user=enrolled["user"], event_type=SecurityEventType.MFA_RECOVERY_CODE_USED)
        assert used.metadata == {"recovery_codes_left": 9}

    def test_recovery_codes_are_read_without_dashes_or_case(self, anon, enrolled):
        code = enrolled["codes"][1].replace("-", "").lower()

        r = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": code})

        assert r.status_code == 200

    def test_another_persons_recovery_code_does_not_work(self, anon, enrolled, user_b):
        _, others = enrol_totp(user_b)

        r = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, enrolled["user"]), "code": others[0]})

        assert r.status_code == 400


class TestForcedEnrolment:
    def _enrolment_tokens(self, anon, user) -> dict:
        r = anon.post(LOGIN, {"email": user.email, "password": PASSWORD})
        assert r.status_code == 200 and set(r.json()) == {"mfa_enrolment_required", "tokens"}, r.content
        return r.json()["tokens"]

    def test_a_doctor_without_mfa_gets_only_an_enrolment_token(self, anon):
        tokens = self._enrolment_tokens(anon, DoctorFactory())

        r = bearer(tokens["access"]).get(ME)

        assert r.status_code == 403 and r.json()["error"]["code"] == "mfa_enrolment_required"
        assert bearer(tokens["access"]).get("/api/v1/appointments/").status_code == 403

    def test_an_admin_without_mfa_gets_only_an_enrolment_token(self, anon):
        tokens = self._enrolment_tokens(anon, AdminFactory())

        assert bearer(tokens["access"]).get("/api/v1/auth/roles/").status_code == 403

    def test_the_enrolment_token_enrols_and_confirming_answers_a_full_session(self, anon):
        doctor = DoctorFactory()
        enrolment = bearer(self._enrolment_tokens(anon, doctor)["access"])

        secret = enrolment.post(TOTP).json()["secret"]
        r = enrolment.post(CONFIRM, {"code": totp_code(secret)})

        assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
        full = bearer(r.json()["tokens"]["access"])
        assert full.get(ME).status_code == 200
        assert enrolment.get(TOTP).status_code == 401  # the enrolment session ended

    def test_refreshing_an_enrolment_token_keeps_it_an_enrolment_token(self, anon):
        tokens = self._enrolment_tokens(anon, DoctorFactory())

        fresh = anon.post(REFRESH, {"refresh": tokens["refresh"]}).json()

        assert bearer(fresh["access"]).get(ME).status_code == 403
        assert bearer(fresh["access"]).get(TOTP).status_code == 200

    def test_a_full_session_of_a_doctor_without_mfa_narrows_at_its_next_refresh(self, anon, doctor):
        client = client_for(doctor)

        fresh = anon.post(REFRESH, {"refresh": client.tokens["refresh"]}).json()

        assert bearer(fresh["access"]).get(ME).status_code == 403

    def test_a_doctor_with_mfa_signs_in_in_two_steps_to_a_full_session(self, anon):
        doctor = DoctorFactory()
        secret, _ = enrol_totp(doctor)

        r = anon.post(LOGIN_MFA, {"challenge": challenge_for(anon, doctor), "code": totp_code(secret)})

        assert bearer(r.json()["tokens"]["access"]).get(ME).status_code == 200

    def test_a_patient_is_not_forced(self, anon, user_a):
        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD})

        assert set(r.json()) == {"user", "tokens"}

    def test_no_role_is_forced_when_the_setting_is_empty(self, anon, settings):
        settings.MFA_REQUIRED_ROLES = []
        doctor = DoctorFactory()

        r = anon.post(LOGIN, {"email": doctor.email, "password": PASSWORD})

        assert set(r.json()) == {"user", "tokens"}
        assert bearer(r.json()["tokens"]["access"]).get(ME).status_code == 200

    def test_the_enrolment_token_signs_out(self, anon):
        tokens = self._enrolment_tokens(anon, DoctorFactory())

        r = bearer(tokens["access"]).post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]})

        assert r.status_code == 205
        assert anon.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
