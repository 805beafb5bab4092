"""Push delivery through a local server that speaks Expo's push protocol."""

from __future__ import annotations

import pytest

from notifications import services, tasks
from notifications.channels.base import TransientDeliveryError
from notifications.models import PushToken

from .factories import PushTokenFactory
from .helpers import delivery_of, run_like_a_worker

pytestmark = pytest.mark.django_db


class TestPushDelivery:
    def test_it_posts_the_message_to_expo_and_records_the_ticket(self, user_a, expo):
        token = PushTokenFactory(user=user_a)
        delivery = delivery_of(user_a, "push", severity="warning")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.provider_id) == ("sent", 1, "ticket-1")
        [request] = expo.requests
        assert request["path"] == "/--/api/v2/push/send"
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["Accept"] == "application/json"
        assert "Authorization" not in request["headers"]
        assert request["messages"] == [
            {
                "to": token.token,
                "title": "Your data export is ready",
                "body": "Open the app to download it.",
                "data": {"notification_id": str(delivery.notification_id), "category": "system", "severity": "warning"},
                "sound": "default",
                "priority": "default",
            }
        ]
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_it_sends_the_access_token_when_one_is_configured(self, user_a, expo, settings):
        settings.EXPO_ACCESS_TOKEN = "expo-secret"
        PushTokenFactory(user=user_a)
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        assert expo.requests[0]["headers"]["Authorization"] == "Bearer expo-secret"

    def test_a_critical_notification_is_sent_with_high_priority(self, user_a, expo):
        PushTokenFactory(user=user_a)
        delivery = delivery_of(user_a, "push", severity="critical")

        tasks.deliver.apply(args=[str(delivery.pk)])

        assert expo.messages[0]["priority"] == "high"

    def test_it_reaches_every_active_token_and_no_inactive_one(self, user_a, expo):
        phone, tablet = PushTokenFactory(user=user_a), PushTokenFactory(user=user_a)
        PushTokenFactory(user=user_a, is_active=False)
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        assert sorted(m["to"] for m in expo.messages) == sorted([phone.token, tablet.token])

    def test_it_sends_in_batches_of_at_most_100(self, user_a, expo):
        PushToken.objects.bulk_create(
            PushToken(user=user_a, token=f"ExponentPushToken[bulk{i:04d}]", platform="android") for i in range(150)
        )
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        assert [len(r["messages"]) for r in expo.requests] == [100, 50]
        delivery.refresh_from_db()
        assert delivery.status == "sent"

    def test_without_an_active_token_it_is_skipped(self, user_a, expo):
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("skipped", "no active push token")
        assert expo.requests == []

    def test_a_task_run_twice_sends_once(self, user_a, expo):
        PushTokenFactory(user=user_a)
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])
        tasks.deliver.apply(args=[str(delivery.pk)])

        assert len(expo.messages) == 1


class TestDeviceNotRegistered:
    def test_it_deactivates_the_token_and_the_others_still_get_the_push(self, user_a, expo):
        gone, kept = PushTokenFactory(user=user_a), PushTokenFactory(user=user_a)
        expo.script = [expo.not_registered(gone.token)]
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        gone.refresh_from_db()
        kept.refresh_from_db()
        assert (gone.is_active, kept.is_active) == (False, True)
        delivery.refresh_from_db()
        assert delivery.status == "sent"
        assert delivery.provider_receipts[str(gone.pk)] == {"status": "error", "error": "DeviceNotRegistered"}

    def test_with_its_only_token_gone_the_delivery_fails_without_retry(self, user_a, expo):
        gone = PushTokenFactory(user=user_a)
        expo.script = [expo.not_registered(gone.token)]
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert delivery.last_error == "every push token was refused: DeviceNotRegistered"
        assert gone.token not in delivery.last_error
        assert len(expo.requests) == 1


class TestExpoFailures:
    def test_a_5xx_is_retried_with_backoff_and_sent_once(self, user_a, expo):
        PushTokenFactory(user=user_a)
        expo.script = [expo.status(500), expo.status(503), expo.status(502)]
        delivery = delivery_of(user_a, "push")

        countdowns = run_like_a_worker(tasks.deliver, str(delivery.pk))

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 4)
        assert len(expo.requests) == 4
        assert [0 <= c <= 2 * 2**n for n, c in enumerate(countdowns)] == [True, True, True]

    def test_a_batch_that_failed_is_retried_alone(self, user_a, expo):
        PushToken.objects.bulk_create(
            PushToken(user=user_a, token=f"ExponentPushToken[bulk{i:04d}]", platform="ios") for i in range(120)
        )
        expo.script = [expo.ok, expo.status(500)]
        delivery = delivery_of(user_a, "push")

        run_like_a_worker(tasks.deliver, str(delivery.pk))

        assert [len(r["messages"]) for r in expo.requests] == [100, 20, 20]
        delivered = [m["to"] for m in expo.requests[0]["messages"] + expo.requests[2]["messages"]]
        assert len(set(delivered)) == 120

    def test_a_4xx_fails_for_good_without_retry(self, user_a, expo):
        PushTokenFactory(user=user_a)
        expo.script = [expo.status(400)]
        delivery = delivery_of(user_a, "push")

        tasks.deliver.apply(args=[str(delivery.pk)])

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert delivery.last_error == "every push token was refused: Expo answered HTTP 400"
        assert len(expo.requests) == 1

    def test_a_rate_limited_ticket_is_retried(self, user_a, expo):
        PushTokenFactory(user=user_a)
        rate_limited = (
            b'{"data": [{"status": "error", "message": "slow down", "details": {"error": "MessageRateExceeded"}}]}'
        )
        expo.script = [expo.raw(rate_limited)]
        delivery = delivery_of(user_a, "push")

        run_like_a_worker(tasks.deliver, str(delivery.pk))

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 2)

    @pytest.mark.parametrize(
        "answer",
        [
            b"<html>gateway</html>",
            b'{"data": {"status": "ok"}}',
            b'{"data": []}',
            b'{"data": [{"status": "ok"}]}',
            b'{"data": [{"status": "maybe", "id": "x"}]}',
            b'{"data": ["ok"]}',
            b'{"errors": [{"code": "INTERNAL"}]}',
        ],
        ids=["html", "object", "too-few", "no-id", "odd-status", "not-an-object", "errors-only"],
    )
    def test_a_malformed_answer_is_transient(self, user_a, expo, answer):
        PushTokenFactory(user=user_a)
        expo.script = [expo.raw(answer)]
        delivery = delivery_of(user_a, "push")

        with pytest.raises(TransientDeliveryError):
            services.delivery_send(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.provider_receipts) == ("pending", 1, {})

    def test_an_oversized_answer_is_transient(self, user_a, expo):
        PushTokenFactory(user=user_a)
        expo.script = [expo.raw(b'{"data": [' + b" " * (1024 * 1024 + 10) + b"]}")]
        delivery = delivery_of(user_a, "push")

        with pytest.raises(TransientDeliveryError, match="larger than expected"):
            services.delivery_send(delivery_id=delivery.pk)

    def test_a_redirect_is_not_followed(self, user_a, expo):
        PushTokenFactory(user=user_a)
        expo.script = [expo.status(307, b"", {"Location": "http://127.0.0.1:9/elsewhere"})]
        delivery = delivery_of(user_a, "push")

        with pytest.raises(TransientDeliveryError, match="HTTP 307"):
            services.delivery_send(delivery_id=delivery.pk)

        assert len(expo.requests) == 1

    def test_a_timeout_is_transient(self, user_a, expo, settings):
        settings.EXPO_PUSH_TIMEOUT = 0.2
        PushTokenFactory(user=user_a)
        expo.script = [expo.slow(1.0)]
        delivery = delivery_of(user_a, "push")

        with pytest.raises(TransientDeliveryError, match="unreachable"):
            services.delivery_send(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == ("pending", "Expo unreachable (TimeoutError)")

    def test_an_unreachable_expo_is_transient(self, user_a, settings):
        settings.EXPO_PUSH_URL = "http://127.0.0.1:9/--/api/v2/push/send"
        PushTokenFactory(user=user_a)
        delivery = delivery_of(user_a, "push")

        with pytest.raises(TransientDeliveryError, match="unreachable"):
            services.delivery_send(delivery_id=delivery.pk)
