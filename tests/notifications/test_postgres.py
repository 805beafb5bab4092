"""PostgreSQL behaviour: racing workers and dispatchers still send exactly once.

SQLite serialises every writer, so these races cannot happen there; they are about row claims, `SKIP LOCKED`
and row locks on concurrent connections, which only PostgreSQL exercises.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from notifications import services
from notifications.exceptions import PushTokenTaken
from notifications.models import Notification, NotificationDelivery, PushToken
from tests.accounts.factories import UserFactory
from tests.concurrency import run_together

from .factories import PushTokenFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent connections and row locks; CI runs it"),
]


def _stale_push_delivery(user) -> NotificationDelivery:
    # Stored directly: through notify(), the commit of a transactional test would already send it.
    notification = Notification.objects.create(recipient=user, category="system", title="Race", body="")
    long_ago = timezone.now() - timedelta(hours=1)
    return NotificationDelivery.objects.create(notification=notification, channel="push", enqueued_at=long_ago)


@pytest.mark.django_db(transaction=True)
class TestRaces:
    def test_workers_racing_for_one_delivery_send_it_once(self, expo):
        user = UserFactory()
        PushTokenFactory(user=user)
        delivery = _stale_push_delivery(user)

        results = run_together(*[lambda: services.delivery_send(delivery_id=delivery.pk)] * 6)

        assert len([r for r in results if r is not None]) == 1
        assert len(expo.messages) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 1)

    def test_dispatchers_running_together_send_a_due_delivery_once(self, expo):
        user = UserFactory()
        PushTokenFactory(user=user)
        delivery = _stale_push_delivery(user)

        results = run_together(services.deliveries_dispatch_due, services.deliveries_dispatch_due)

        assert sorted(results) == [0, 1]
        assert len(expo.messages) == 1
        delivery.refresh_from_db()
        assert delivery.status == "sent"

    def test_two_accounts_racing_for_one_new_token_leave_it_with_one_of_them(self):
        first, second = UserFactory(), UserFactory()
        token = "ExponentPushToken[race00000001]"

        results = run_together(
            lambda: services.push_token_register(user=first, token=token, platform="ios"),
            lambda: services.push_token_register(user=second, token=token, platform="ios"),
        )

        refused = [r for r in results if isinstance(r, PushTokenTaken)]
        registered = [r for r in results if isinstance(r, tuple)]
        assert (len(refused), len(registered)) == (1, 1)
        assert PushToken.objects.get(token=token).user_id == registered[0][0].user_id
