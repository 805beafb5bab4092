"""The periodic dispatcher and the claim: lost messages are found again, and nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications import services, tasks
from notifications.models import NotificationDelivery

from .helpers import delivery_of

pytestmark = pytest.mark.django_db


def _age(delivery: NotificationDelivery, **fields) -> None:
    NotificationDelivery.objects.filter(pk=delivery.pk).update(**fields)


class TestDispatchDue:
    def test_a_pending_delivery_whose_message_was_lost_is_enqueued_again(
        self, user_a, django_capture_on_commit_callbacks
    ):
        delivery = delivery_of(user_a, "email")  # its task never ran (no commit in this test)
        _age(delivery, enqueued_at=timezone.now() - services.STALE_AFTER - timedelta(seconds=1))

        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.dispatch_due.apply().get() == 1

        delivery.refresh_from_db()
        assert delivery.status == "sent"
        assert len(mail.outbox) == 1

    def test_a_recently_enqueued_delivery_is_left_to_its_task(self, user_a, django_capture_on_commit_callbacks):
        delivery_of(user_a, "email")

        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliveries_dispatch_due() == 0

        assert mail.outbox == []

    def test_two_dispatcher_runs_enqueue_a_delivery_once(self, user_a, django_capture_on_commit_callbacks):
        delivery = delivery_of(user_a, "email")
        _age(delivery, enqueued_at=timezone.now() - timedelta(hours=1))

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            first = services.deliveries_dispatch_due()
            second = services.deliveries_dispatch_due()

        assert (first, second, len(callbacks)) == (1, 0, 1)

    def test_a_delivery_abandoned_mid_send_is_taken_over_after_its_lease(
        self, user_a, django_capture_on_commit_callbacks
    ):
        delivery = delivery_of(user_a, "email")
        long_ago = timezone.now() - timedelta(hours=1)
        # A worker claimed it and died before recording anything.
        _age(delivery, status="sending", attempts=1, lease_expires_at=long_ago, enqueued_at=long_ago)

        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliveries_dispatch_due() == 1

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 2)

    def test_a_delivery_being_sent_is_not_claimed_twice(self, user_a):
        delivery = delivery_of(user_a, "email")
        _age(delivery, status="sending", attempts=1, lease_expires_at=timezone.now() + services.LEASE)

        assert services.delivery_send(delivery_id=delivery.pk) is None

        assert mail.outbox == []

    def test_a_delivery_that_keeps_crashing_its_worker_is_failed_after_the_cap(self, user_a):
        delivery = delivery_of(user_a, "email")
        _age(delivery, status="sending", attempts=services.MAX_ATTEMPTS, lease_expires_at=timezone.now())

        services.delivery_send(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("failed", f"gave up after {services.MAX_ATTEMPTS} attempts")
        assert mail.outbox == []

    def test_a_missing_delivery_is_a_no_op(self, db):
        assert tasks.deliver.apply(args=["00000000-0000-0000-0000-000000000000"]).successful()


class TestRequeue:
    def test_a_failed_delivery_gets_fresh_attempts(self, user_a, django_capture_on_commit_callbacks):
        delivery = delivery_of(user_a, "email")
        _age(delivery, status="failed", attempts=services.MAX_ATTEMPTS, last_error="SMTP error (554)")

        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliveries_requeue(delivery_ids=[delivery.pk]) == 1

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        assert len(mail.outbox) == 1


class TestDeactivatedAccount:
    def test_nothing_is_sent_to_a_deactivated_account(self, user_a):
        delivery = delivery_of(user_a, "email")
        user_a.is_active = False
        user_a.save()

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("skipped", "the account is deactivated")
        assert mail.outbox == []
