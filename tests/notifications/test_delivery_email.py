"""E-mail delivery: rendering, SMTP failures (transient and permanent), retries, no duplicates."""

from __future__ import annotations

import contextlib

import pytest
from django.core import mail

from notifications import services, tasks
from notifications.channels.base import TransientDeliveryError

from .helpers import delivery_of, run_like_a_worker

pytestmark = pytest.mark.django_db


class TestEmailDelivery:
    def test_it_sends_plain_text_and_html_to_the_account_address(self, user_a):
        delivery = delivery_of(user_a, "email")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.sent_at is not None) == ("sent", 1, True)
        [message] = mail.outbox
        assert message.to == [user_a.email]
        assert message.subject == "JEGHealth: Your data export is ready"
        assert "Open the app to download it." in message.body
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html" and "<strong>Your data export is ready</strong>" in html

    def test_a_task_run_twice_sends_once(self, user_a):
        delivery = delivery_of(user_a, "email")

        tasks.deliver.apply(args=[str(delivery.pk)])
        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        assert len(mail.outbox) == 1

    def test_an_unverified_address_is_skipped(self, user_a):
        user_a.is_email_verified = False
        user_a.save()
        delivery = delivery_of(user_a, "email")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("skipped", "the account e-mail address is not verified")
        assert mail.outbox == []


class TestSmtpFailures:
    def test_it_is_sent_over_smtp(self, user_a, smtp):
        delivery = delivery_of(user_a, "email")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert delivery.status == "sent"
        [message] = smtp.messages
        assert message["to"] == [user_a.email]
        assert "Subject: JEGHealth: Your data export is ready" in message["data"]

    def test_a_refused_connection_is_transient_and_leaves_the_delivery_pending(self, user_a, smtp_down):
        delivery = delivery_of(user_a, "email")

        with pytest.raises(TransientDeliveryError):
            services.delivery_send(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error == "SMTP unavailable (ConnectionRefusedError)"
        assert delivery.lease_expires_at is None

    def test_a_deferred_recipient_is_retried_and_sent_once(self, user_a, smtp):
        smtp.rcpt_codes = [451]
        delivery = delivery_of(user_a, "email")

        countdowns = run_like_a_worker(tasks.deliver, str(delivery.pk))

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 2)
        assert len(smtp.messages) == 1
        assert len(countdowns) == 1 and 0 <= countdowns[0] <= 2  # backoff 2 s with full jitter

    def test_a_refused_recipient_fails_for_good_without_retry(self, user_a, smtp):
        smtp.rcpt_codes = [550]
        delivery = delivery_of(user_a, "email")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert delivery.last_error == "SMTP recipient refused (550)"
        assert smtp.messages == []

    def test_a_failed_delivery_is_not_sent_by_a_later_task(self, user_a, smtp):
        smtp.rcpt_codes = [550]
        delivery = delivery_of(user_a, "email")
        tasks.deliver.apply(args=[str(delivery.pk)])

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert smtp.messages == []

    def test_an_smtp_outage_that_outlasts_the_retries_gives_up_after_the_attempt_cap(self, user_a, smtp_down):
        delivery = delivery_of(user_a, "email")

        with pytest.raises(TransientDeliveryError):
            run_like_a_worker(tasks.deliver, str(delivery.pk))  # one retry chain: 1 + max_retries attempts
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", tasks.deliver.max_retries + 1)
        while delivery.status == "pending":
            delivery.refresh_from_db()
            delivery.enqueued_at = None
            delivery.save(update_fields=["enqueued_at"])
            with contextlib.suppress(TransientDeliveryError):
                services.delivery_send(delivery_id=delivery.pk)
            delivery.refresh_from_db()

        assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
        assert delivery.last_error.startswith(f"gave up after {services.MAX_ATTEMPTS} attempts")
