"""A slow or unreachable SMS provider delays neither the web request nor the other channels of the notification.

The request only stores the reading; the alert rules store the notifications and their deliveries (the SMS to a
contact comes with the escalation, which beat runs), and each delivery is its own task, sent by whichever worker
takes it. These tests stand in for the broker (`deliver.delay` records the ids it is given) and run the
queued deliveries as concurrent workers would, on PostgreSQL (threads need their own committed view).
"""

from __future__ import annotations

import threading
import time
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import connections

from alerts.services import episodes_run_due
from notifications import services, tasks
from notifications.channels.base import TransientDeliveryError
from notifications.models import NotificationDelivery
from tests.accounts.factories import UserFactory
from tests.alerts.factories import AlertThresholdFactory
from tests.conftest import client_for

from .factories import EmergencyContactFactory, PushTokenFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="concurrent workers need concurrent connections to committed rows; CI runs it on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def person():
    user = UserFactory()
    AlertThresholdFactory(user=user, metric_type="heart_rate", max_value=120, severity="critical")
    token = PushTokenFactory(user=user)
    contact = EmergencyContactFactory(user=user, email="", phone_number="+351 912 345 678")
    return user, token, contact


@pytest.fixture
def queued():
    """The delivery ids the request enqueued, in order, instead of a broker."""
    ids: list[str] = []
    with mock.patch.object(tasks.deliver, "delay", side_effect=ids.append):
        yield ids


def of_the_alert_to_contacts(queued: list[str]) -> dict[str, NotificationDelivery]:
    """The queued deliveries of the notification that has a contact's delivery, by channel."""
    sms = NotificationDelivery.objects.get(pk__in=queued, channel="sms")
    return {d.channel: d for d in NotificationDelivery.objects.filter(pk__in=queued, notification=sms.notification_id)}


def in_a_worker(delivery_id: str) -> threading.Thread:
    def run() -> None:
        try:
            services.delivery_send(delivery_id=delivery_id)
        except TransientDeliveryError:
            pass  # the task would retry later
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def recent_reading_time() -> str:
    from django.utils import timezone

    return timezone.now().isoformat()


def escalate_now() -> None:
    """What beat does once the critical alert went unacknowledged for ALERT_ESCALATION_MINUTES."""
    from datetime import timedelta

    from django.utils import timezone

    assert episodes_run_due(now=timezone.now() + timedelta(minutes=16)).escalations == 1


def test_the_push_is_sent_while_the_sms_provider_hangs(person, queued, sms, expo, settings):
    user, token, _contact = person
    settings.SMS_API_TIMEOUT = 8.0
    sms.script = [sms.hang(8)]

    started = time.monotonic()
    r = client_for(user).post(
        "/api/v1/health-metrics/",
        {"metric_type": "heart_rate", "value": 165, "unit": "bpm", "recorded_at": recent_reading_time()},
        format="json",
    )
    request_seconds = time.monotonic() - started

    assert r.status_code == 201 and request_seconds < 2.0
    assert sms.requests == [] and expo.messages == []  # the request itself called no provider
    escalate_now()
    deliveries = of_the_alert_to_contacts(queued)
    assert {"push", "sms"} <= set(deliveries)

    workers = [in_a_worker(str(deliveries["sms"].pk))]
    assert sms.hanging.wait(5)
    workers.append(in_a_worker(str(deliveries["push"].pk)))
    workers[1].join(timeout=5)

    assert [m["to"] for m in expo.messages] == [token.token]
    assert expo.messages[0]["data"]["notification_id"] == str(deliveries["sms"].notification_id)
    assert NotificationDelivery.objects.get(pk=deliveries["push"].pk).status == "sent"
    assert NotificationDelivery.objects.get(pk=deliveries["sms"].pk).status == "sending"  # still hanging
    sms.release.set()
    workers[0].join(timeout=10)
    assert NotificationDelivery.objects.get(pk=deliveries["sms"].pk).status == "pending"  # 503: retried later


def test_an_unreachable_sms_provider_leaves_the_push_untouched(person, queued, sms_down, expo):
    user, token, contact = person

    started = time.monotonic()
    r = client_for(user).post(
        "/api/v1/health-metrics/",
        {"metric_type": "heart_rate", "value": 165, "unit": "bpm", "recorded_at": recent_reading_time()},
        format="json",
    )

    assert r.status_code == 201 and time.monotonic() - started < 2.0
    escalate_now()
    for delivery_id in queued:
        in_a_worker(delivery_id).join(timeout=10)
    deliveries = of_the_alert_to_contacts(queued)
    push, sms = deliveries["push"], deliveries["sms"]
    assert push.status == "sent" and token.token in [m["to"] for m in expo.messages]
    assert (sms.status, sms.attempts, sms.contact_id) == ("pending", 1, contact.pk)
