"""SMS delivery to emergency contacts through a local server that speaks Twilio's Messages API."""

from __future__ import annotations

import logging
import time

import pytest

from notifications import services, tasks
from notifications.channels.base import TransientDeliveryError
from notifications.channels.sms import e164
from notifications.models import NotificationDelivery
from notifications.services import ContactMessage, notify

from .conftest import SMS_ACCOUNT, SMS_AUTH_TOKEN, SMS_FROM
from .factories import EmergencyContactFactory
from .helpers import run_like_a_worker

pytestmark = pytest.mark.django_db

MESSAGE = ContactMessage(
    subject="JEGHealth: urgent reading for Rui Costa",
    text="Rui Costa named you as an emergency contact. One of their readings is urgent. Please call them.",
    sms="JEGHealth: an urgent reading for Rui Costa. Please call them on +351 912 000 111.",
)


def sms_delivery(user, **contact_fields) -> NotificationDelivery:
    """A critical notification for USER naming one phone-only contact, and that contact's (unsent) delivery."""
    contact = EmergencyContactFactory(user=user, email="", phone_number="+351 912 345 678", **contact_fields)
    notification = notify(
        user=user,
        category="health_alert",
        title="Blood pressure above your critical limit",
        body="Open JEGHealth for details.",
        severity="critical",
        contacts=[contact],
        contact_message=MESSAGE,
    )
    return NotificationDelivery.objects.get(notification=notification, contact=contact)


class TestSmsDelivery:
    def test_it_posts_the_form_with_basic_auth_and_records_the_sid(self, user_a, sms):
        delivery = sms_delivery(user_a)
        assert delivery.channel == "sms"

        tasks.deliver.apply(args=[str(delivery.pk)])

        [request] = sms.requests
        assert request["path"] == f"/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json"
        assert request["content_type"] == "application/x-www-form-urlencoded"
        assert request["auth"] == f"{SMS_ACCOUNT}:{SMS_AUTH_TOKEN}"
        assert request["form"] == {"To": "+351912345678", "From": SMS_FROM, "Body": MESSAGE.sms}
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        assert delivery.provider_id == sms.delivered[0]["sid"]

    def test_a_task_run_twice_sends_one_sms(self, user_a, sms):
        delivery = sms_delivery(user_a)

        tasks.deliver.apply(args=[str(delivery.pk)])
        tasks.deliver.apply(args=[str(delivery.pk)])

        assert len(sms.requests) == 1

    def test_a_5xx_is_retried_with_backoff_and_one_sms_is_delivered(self, user_a, sms):
        sms.script = [sms.status(500), sms.status(503)]
        delivery = sms_delivery(user_a)

        countdowns = run_like_a_worker(tasks.deliver, str(delivery.pk))

        assert len(countdowns) == 2 and all(0 <= c <= 2 * 2**n for n, c in enumerate(countdowns))
        assert len(sms.requests) == 3 and len(sms.delivered) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.provider_id) == ("sent", 3, sms.delivered[0]["sid"])

    def test_a_429_is_retried(self, user_a, sms):
        sms.script = [sms.status(429, twilio_code=20429)]
        delivery = sms_delivery(user_a)

        run_like_a_worker(tasks.deliver, str(delivery.pk))

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, len(sms.delivered)) == ("sent", 2, 1)

    def test_a_timeout_is_retried_and_one_sms_is_delivered(self, user_a, sms, settings):
        settings.SMS_API_TIMEOUT = 0.5
        sms.script = [sms.hang(3)]
        delivery = sms_delivery(user_a)

        countdowns = run_like_a_worker(tasks.deliver, str(delivery.pk))

        assert len(countdowns) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 2)
        assert len(sms.delivered) == 1 and delivery.provider_id == sms.delivered[0]["sid"]

    def test_a_4xx_fails_the_delivery_without_retry(self, user_a, sms):
        sms.script = [sms.status(400, twilio_code=21211)]
        delivery = sms_delivery(user_a)

        assert run_like_a_worker(tasks.deliver, str(delivery.pk)) == []

        assert len(sms.requests) == 1 and sms.delivered == []
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        # Only the provider's code is kept: its message quotes the phone number.
        assert delivery.last_error == "SMS provider answered HTTP 400 (code 21211)"

    def test_bad_credentials_fail_the_delivery_without_retry(self, user_a, sms):
        sms.script = [sms.status(401, twilio_code=20003)]
        delivery = sms_delivery(user_a)

        run_like_a_worker(tasks.deliver, str(delivery.pk))

        delivery.refresh_from_db()
        assert (delivery.status, len(sms.requests)) == ("failed", 1)

    def test_a_provider_that_is_down_is_transient(self, user_a, sms_down):
        delivery = sms_delivery(user_a)

        with pytest.raises(TransientDeliveryError, match="unreachable"):
            services.delivery_send(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error == "SMS provider unreachable (ConnectError)"

    def test_without_sms_api_url_it_is_skipped_with_the_reason(self, user_a, settings):
        settings.SMS_API_URL = ""
        delivery = sms_delivery(user_a)

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("skipped", "SMS is not configured (SMS_API_URL is unset)")

    def test_a_number_not_in_international_format_is_skipped(self, user_a, sms):
        delivery = sms_delivery(user_a)
        delivery.contact.phone_number = "0612345678"
        delivery.contact.save()

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert delivery.status == "skipped" and sms.requests == []

    def test_the_logs_name_no_number_and_no_text(self, user_a, sms, caplog):
        delivery = sms_delivery(user_a)

        with caplog.at_level(logging.INFO, logger="jeghealth.notifications"):
            tasks.deliver.apply(args=[str(delivery.pk)])

        logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
        assert str(delivery.pk) in logged
        for secret in ("+351912345678", "912 345 678", "urgent reading", SMS_AUTH_TOKEN):
            assert secret not in logged


class TestSlowProvider:
    def test_a_hanging_provider_fails_over_within_the_timeout(self, user_a, sms, settings):
        settings.SMS_API_TIMEOUT = 0.5
        sms.script = [sms.hang(5)]
        delivery = sms_delivery(user_a)

        started = time.monotonic()
        with pytest.raises(TransientDeliveryError, match="timed out"):
            services.delivery_send(delivery_id=delivery.pk)

        assert time.monotonic() - started < 2.5
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.last_error.startswith("SMS provider timed out")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+351 912 345 678", "+351912345678"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44.20.7946.0958", "+442079460958"),
        ("0612345678", None),
        ("+0612345678", None),
        ("+12", None),
        ("", None),
    ],
)
def test_phone_numbers_are_sent_in_e164(given, expected):
    assert e164(given) == expected
