"""`notify`: what it stores, which deliveries it queues, and when."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from kombu.exceptions import OperationalError

from notifications import services, tasks
from notifications.models import Notification, NotificationDelivery
from notifications.services import notify

from .factories import PushTokenFactory

pytestmark = pytest.mark.django_db


def _statuses(notification) -> dict[str, str]:
    return {d.channel: d.status for d in NotificationDelivery.objects.filter(notification=notification)}


class TestNotify:
    def test_it_stores_the_notification_and_one_delivery_per_channel(self, user_a):
        notification = notify(user=user_a, category="system", title="Hello", body="Welcome", data={"k": 1})

        stored = Notification.objects.get(pk=notification.pk)
        assert (stored.recipient, stored.category, stored.severity, stored.data) == (user_a, "system", "info", {"k": 1})
        assert _statuses(notification) == {"in_app": "sent", "email": "pending", "push": "pending"}

    def test_it_delivers_every_channel_after_commit(self, user_a, expo, django_capture_on_commit_callbacks):
        PushTokenFactory(user=user_a)
        with django_capture_on_commit_callbacks(execute=True):
            notification = notify(user=user_a, category="system", title="Hello", body="Welcome")

        assert _statuses(notification) == {"in_app": "sent", "email": "sent", "push": "sent"}
        assert len(mail.outbox) == 1
        assert [m["title"] for m in expo.messages] == ["Hello"]

    def test_it_sends_nothing_when_the_callers_transaction_rolls_back(
        self, user_a, expo, django_capture_on_commit_callbacks
    ):
        PushTokenFactory(user=user_a)
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            notify(user=user_a, category="system", title="Hello", body="Welcome")
            raise RuntimeError("the caller failed")

        assert callbacks == []
        assert not Notification.objects.exists()
        assert mail.outbox == []
        assert expo.requests == []

    def test_it_survives_a_broker_outage_and_leaves_the_deliveries_pending(
        self, user_a, monkeypatch, django_capture_on_commit_callbacks
    ):
        def broker_down(*args, **kwargs):
            raise OperationalError("Error 111 connecting to redis")

        monkeypatch.setattr(tasks.deliver, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            notification = notify(user=user_a, category="system", title="Hello", body="Welcome")

        assert _statuses(notification) == {"in_app": "sent", "email": "pending", "push": "pending"}

    def test_a_repeated_dedupe_key_is_a_no_op(self, user_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            first = notify(user=user_a, category="medication_reminder", title="Dose", body="", dedupe_key="dose:1")
            again = notify(user=user_a, category="medication_reminder", title="Dose", body="", dedupe_key="dose:1")

        assert again.pk == first.pk
        assert Notification.objects.count() == 1
        assert NotificationDelivery.objects.count() == 3
        assert len(mail.outbox) == 1

    def test_the_same_dedupe_key_of_another_person_is_another_notification(self, user_a, user_b):
        notify(user=user_a, category="system", title="A", body="", dedupe_key="k")
        notify(user=user_b, category="system", title="B", body="", dedupe_key="k")

        assert Notification.objects.count() == 2

    def test_it_refuses_an_unknown_category(self, user_a):
        with pytest.raises(ValueError, match="category"):
            notify(user=user_a, category="marketing", title="Buy", body="")

    def test_it_clips_an_overlong_title(self, user_a):
        notification = notify(user=user_a, category="system", title="x" * 500, body="")

        assert len(notification.title) == 200


class TestPreferencesOff:
    def test_channels_turned_off_are_skipped_and_nothing_is_sent(
        self, user_a, expo, django_capture_on_commit_callbacks
    ):
        PushTokenFactory(user=user_a)
        services.preferences_update(user=user_a, categories={"system": {"email": False, "push": False}})
        with django_capture_on_commit_callbacks(execute=True):
            notification = notify(user=user_a, category="system", title="Hello", body="")

        assert _statuses(notification) == {"in_app": "sent", "email": "skipped", "push": "skipped"}
        assert mail.outbox == []
        assert expo.requests == []

    def test_in_app_off_keeps_the_notification_out_of_the_inbox(self, user_a, client_a):
        services.preferences_update(user=user_a, categories={"device_alert": {"in_app": False}})
        notification = notify(user=user_a, category="device_alert", title="Battery low", body="")

        assert _statuses(notification)["in_app"] == "skipped"
        assert client_a.get("/api/v1/notifications/").json()["count"] == 0

    def test_other_categories_keep_their_channels(self, user_a):
        services.preferences_update(user=user_a, categories={"system": {"email": False}})
        notification = notify(user=user_a, category="health_alert", title="Check", body="")

        assert _statuses(notification)["email"] == "pending"
