"""Expo's push receipts, polled from beat: `DeviceNotRegistered` deactivates the token, once, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from jeghealth_backend.celery import app as celery_app
from notifications import expo as expo_client
from notifications import services, tasks
from notifications.models import NotificationDelivery, PushToken

from .factories import PushTokenFactory
from .helpers import delivery_of

pytestmark = pytest.mark.django_db


def sent_push(user, *, minutes_ago: float = 20) -> NotificationDelivery:
    """A push delivery to every active token of USER, sent through the local Expo MINUTES_AGO."""
    delivery = delivery_of(user, "push")
    tasks.deliver.apply(args=[str(delivery.pk)])
    NotificationDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now() - timedelta(minutes=minutes_ago))
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    return delivery


def ticket_of(delivery: NotificationDelivery, token: PushToken) -> str:
    return delivery.provider_receipts[str(token.pk)]["id"]


class TestReceipts:
    def test_a_device_not_registered_receipt_deactivates_its_token_only(self, user_a, expo):
        gone, kept = PushTokenFactory(user=user_a), PushTokenFactory(user=user_a)
        delivery = sent_push(user_a)
        expo.receipt_not_registered(ticket_of(delivery, gone))

        assert tasks.check_push_receipts.apply().get() == 1

        [request] = expo.receipt_requests
        assert request["path"] == "/--/api/v2/push/getReceipts"
        assert sorted(request["ids"]) == sorted([ticket_of(delivery, gone), ticket_of(delivery, kept)])
        gone.refresh_from_db()
        kept.refresh_from_db()
        assert (gone.is_active, kept.is_active) == (False, True)
        delivery.refresh_from_db()
        assert delivery.receipts_checked_at is not None
        assert delivery.provider_receipts[str(gone.pk)]["receipt"] == "DeviceNotRegistered"

    def test_it_sends_the_expo_access_token(self, user_a, expo, settings):
        settings.EXPO_ACCESS_TOKEN = "expo-secret"
        PushTokenFactory(user=user_a)
        sent_push(user_a)

        tasks.check_push_receipts.apply()

        assert expo.receipt_requests[0]["headers"]["Authorization"] == "Bearer expo-secret"

    def test_polling_again_asks_nothing_and_changes_nothing(self, user_a, expo):
        token = PushTokenFactory(user=user_a)
        delivery = sent_push(user_a)
        expo.receipt_not_registered(ticket_of(delivery, token))
        tasks.check_push_receipts.apply()

        assert tasks.check_push_receipts.apply().get() == 0

        assert len(expo.receipt_requests) == 1
        assert PushToken.objects.get(pk=token.pk).is_active is False

    def test_a_receipt_not_ready_yet_is_asked_for_again_next_time(self, user_a, expo):
        token = PushTokenFactory(user=user_a)
        delivery = sent_push(user_a)
        expo.not_ready.add(ticket_of(delivery, token))

        tasks.check_push_receipts.apply()
        delivery.refresh_from_db()
        assert delivery.receipts_checked_at is None

        expo.not_ready.clear()
        tasks.check_push_receipts.apply()

        delivery.refresh_from_db()
        assert len(expo.receipt_requests) == 2 and delivery.receipts_checked_at is not None
        assert delivery.provider_receipts[str(token.pk)]["receipt"] == "ok"

    def test_a_run_reads_page_after_page_past_receipts_not_ready(self, user_a, expo):
        token = PushTokenFactory(user=user_a)
        waiting = sent_push(user_a, minutes_ago=30)
        later = sent_push(user_a, minutes_ago=20)
        expo.not_ready.add(ticket_of(waiting, token))

        services.push_receipts_check(batch=1)

        waiting.refresh_from_db()
        later.refresh_from_db()
        assert len(expo.receipt_requests) == 2
        assert (waiting.receipts_checked_at, later.receipts_checked_at is not None) == (None, True)

    def test_a_push_sent_minutes_ago_is_not_asked_for_yet(self, user_a, expo):
        PushTokenFactory(user=user_a)
        sent_push(user_a, minutes_ago=2)

        tasks.check_push_receipts.apply()

        assert expo.receipt_requests == []

    def test_a_push_older_than_expo_keeps_receipts_is_closed_without_asking(self, user_a, expo):
        PushTokenFactory(user=user_a)
        delivery = sent_push(user_a, minutes_ago=25 * 60)

        tasks.check_push_receipts.apply()

        delivery.refresh_from_db()
        assert expo.receipt_requests == [] and delivery.receipts_checked_at is not None

    def test_an_unreachable_expo_leaves_the_receipts_for_the_next_run(self, user_a, expo, settings):
        PushTokenFactory(user=user_a)
        delivery = sent_push(user_a)
        settings.EXPO_PUSH_URL = "http://127.0.0.1:9/--/api/v2/push/send"

        assert tasks.check_push_receipts.apply().get() == 0

        delivery.refresh_from_db()
        assert delivery.receipts_checked_at is None

    def test_a_token_re_registered_since_is_not_deactivated_again_by_an_old_receipt(self, user_a, expo, client_a):
        token = PushTokenFactory(user=user_a)
        delivery = sent_push(user_a)
        expo.receipt_not_registered(ticket_of(delivery, token))
        tasks.check_push_receipts.apply()

        client_a.post("/api/v1/notifications/push-tokens/", {"token": token.token, "platform": "ios"}, format="json")
        tasks.check_push_receipts.apply()

        assert PushToken.objects.get(pk=token.pk).is_active is True


def test_the_receipts_endpoint_sits_beside_the_configured_push_endpoint(settings):
    settings.EXPO_PUSH_URL = "https://push.example.org/expo/--/api/v2/push/send"

    assert expo_client.receipts_url() == "https://push.example.org/expo/--/api/v2/push/getReceipts"


def test_beat_polls_the_receipts():
    entry = django_settings.CELERY_BEAT_SCHEDULE["notifications-check-push-receipts"]

    assert entry["task"] == "notifications.check_push_receipts"
    assert entry["task"] in celery_app.tasks
