"""OWASP API6 Unrestricted Access to Sensitive Business Flows (2023); what the modules share: the package docstring."""

from __future__ import annotations

import statistics
import time
from unittest import mock

import pytest
from django.core import mail
from rest_framework.throttling import SimpleRateThrottle

from tests.accounts.factories import PASSWORD
from tests.hardening.owasp.common import LOGIN, TIGHT
from tests.iot_devices.factories import pair_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


class TestAPI6UnrestrictedAccessToSensitiveBusinessFlows:
    def test_a_pairing_code_is_burned_after_five_wrong_tries_even_for_the_right_one(self, user_a):
        watch = pair_device(user_a, verified=False)
        wrong = "00000000" if watch.verification_code != "00000000" else "11111111"

        statuses = [
            watch.client().post("/api/v1/devices/me/verify/", {"verification_code": wrong}).status_code
            for _ in range(5)
        ]
        r = watch.client().post("/api/v1/devices/me/verify/", {"verification_code": watch.verification_code})

        assert statuses == [400, 400, 400, 400, 403]
        assert r.status_code == 403
        assert not watch.refresh().is_verified

    def test_pairing_code_attempts_are_throttled_per_device(self, user_a, settings):
        rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "device_verify": "3/min"}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
        watch = pair_device(user_a, verified=False)

        statuses = [
            watch.client().post("/api/v1/devices/me/verify/", {"verification_code": "x"}).status_code for _ in range(4)
        ]

        assert statuses[3] == 429

    def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(
        self, anon, user_a, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            known = anon.post("/api/v1/auth/password-reset/", {"email": user_a.email})
            unknown = anon.post("/api/v1/auth/password-reset/", {"email": "nobody@example.org"})

        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert [m.to for m in mail.outbox] == [[user_a.email]]

    def test_password_reset_takes_about_as_long_for_a_known_and_an_unknown_address(self, anon, user_a):
        def median_ms(email: str) -> float:
            times = []
            for i in range(10):
                started = time.perf_counter()
                anon.post("/api/v1/auth/password-reset/", {"email": email}, REMOTE_ADDR=f"198.51.100.{i}")
                times.append((time.perf_counter() - started) * 1000)
            return statistics.median(times)

        median_ms(user_a.email)  # warm-up

        assert abs(median_ms(user_a.email) - median_ms("nobody@example.org")) < 50

    def test_password_resets_for_one_address_are_throttled_whatever_the_client_ip(
        self, anon, user_a, django_capture_on_commit_callbacks
    ):
        with (
            mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", TIGHT),
            django_capture_on_commit_callbacks(execute=True),
        ):
            statuses = [
                anon.post(
                    "/api/v1/auth/password-reset/", {"email": user_a.email}, REMOTE_ADDR=f"203.0.113.{i}"
                ).status_code
                for i in range(5)
            ]

        assert statuses == [200, 200, 200, 429, 429]
        assert len(mail.outbox) == 3

    def test_an_account_is_locked_after_five_failed_logins_even_for_the_right_password(self, anon, user_a):
        for i in range(5):
            anon.post(LOGIN, {"email": user_a.email, "password": f"wrong-{i}"}, REMOTE_ADDR=f"192.0.2.{i}")

        r = anon.post(LOGIN, {"email": user_a.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.99")

        assert (r.status_code, r.json()["error"]["code"]) == (429, "account_locked")
