"""Quiet hours, in the person's timezone: non-critical pushes and e-mails wait, the dispatcher sends them after."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from freezegun import freeze_time

from notifications import services
from notifications.models import NotificationDelivery
from notifications.quiet_hours import quiet_until

from .factories import PushTokenFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NIGHT = (time(22, 0), time(7, 0))


class TestQuietUntil:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            # Paris is UTC+1 in January: 22:30 local is 21:30 UTC; the window ends at 07:00 local the next day.
            (datetime(2026, 1, 14, 21, 30, tzinfo=UTC), datetime(2026, 1, 15, 6, 0, tzinfo=UTC)),
            # 03:00 local, after midnight: it ends the same local day.
            (datetime(2026, 1, 15, 2, 0, tzinfo=UTC), datetime(2026, 1, 15, 6, 0, tzinfo=UTC)),
            # 07:00 local is already outside; 21:59 local too.
            (datetime(2026, 1, 15, 6, 0, tzinfo=UTC), None),
            (datetime(2026, 1, 15, 20, 59, tzinfo=UTC), None),
        ],
    )
    def test_a_window_across_midnight(self, now, expected):
        assert quiet_until(now=now, start=NIGHT[0], end=NIGHT[1], tz=PARIS) == expected

    def test_a_window_within_one_day(self):
        now = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)  # 13:30 in Paris

        assert quiet_until(now=now, start=time(13, 0), end=time(15, 0), tz=PARIS) == datetime(
            2026, 1, 15, 14, 0, tzinfo=UTC
        )

    def test_the_night_clocks_go_forward_the_window_ends_at_local_seven(self):
        # 29 March 2026: Paris moves from UTC+1 to UTC+2 at 02:00 local; 07:00 local is then 05:00 UTC.
        now = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 local

        assert quiet_until(now=now, start=NIGHT[0], end=NIGHT[1], tz=PARIS) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)

    def test_no_quiet_hours(self):
        assert quiet_until(now=datetime(2026, 1, 15, 2, 0, tzinfo=UTC), start=None, end=None, tz=PARIS) is None


@pytest.fixture
def night_owl(user_a):
    """A person in Paris with quiet hours 22:00–07:00 and a phone."""
    user_a.profile.timezone = "Europe/Paris"
    user_a.profile.save()
    services.preferences_update(user=user_a, categories={}, quiet_hours=NIGHT)
    PushTokenFactory(user=user_a)
    return user_a


class TestQuietHoursDelivery:
    def test_a_push_at_night_waits_until_quiet_hours_end(self, night_owl, expo, django_capture_on_commit_callbacks):
        with freeze_time("2026-01-14 22:30:00"), django_capture_on_commit_callbacks(execute=True):  # 23:30 in Paris
            notification = services.notify(user=night_owl, category="medication_reminder", title="Dose", body="")

        push = NotificationDelivery.objects.get(notification=notification, channel="push")
        email = NotificationDelivery.objects.get(notification=notification, channel="email")
        expected = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
        assert (push.status, push.not_before, push.enqueued_at) == ("pending", expected, None)
        assert (email.status, email.not_before) == ("pending", expected)
        assert expo.requests == [] and mail.outbox == []

    def test_in_app_is_delivered_at_once_during_quiet_hours(self, night_owl):
        with freeze_time("2026-01-14 22:30:00"):
            notification = services.notify(user=night_owl, category="system", title="Hi", body="")

        assert NotificationDelivery.objects.get(notification=notification, channel="in_app").status == "sent"

    def test_a_critical_notification_is_sent_at_once(self, night_owl, expo, django_capture_on_commit_callbacks):
        with freeze_time("2026-01-14 22:30:00"), django_capture_on_commit_callbacks(execute=True):
            notification = services.notify(
                user=night_owl, category="health_alert", title="Critical", body="", severity="critical"
            )

        push = NotificationDelivery.objects.get(notification=notification, channel="push")
        assert (push.status, push.not_before) == ("sent", None)
        assert len(expo.messages) == 1 and len(mail.outbox) == 1

    def test_the_dispatcher_sends_nothing_before_the_end_and_everything_after(
        self, night_owl, expo, django_capture_on_commit_callbacks
    ):
        with freeze_time("2026-01-14 22:30:00"):
            services.notify(user=night_owl, category="appointment_reminder", title="Tomorrow 9:00", body="")
        with freeze_time("2026-01-15 05:59:00"), django_capture_on_commit_callbacks(execute=True):
            assert services.deliveries_dispatch_due() == 0
        assert expo.requests == []

        with freeze_time("2026-01-15 06:00:30"), django_capture_on_commit_callbacks(execute=True):
            assert services.deliveries_dispatch_due() == 2

        assert [m["title"] for m in expo.messages] == ["Tomorrow 9:00"]
        assert len(mail.outbox) == 1
        assert set(NotificationDelivery.objects.values_list("status", flat=True)) == {"sent"}

    def test_a_task_for_a_held_delivery_sends_nothing_before_its_time(self, night_owl, expo):
        with freeze_time("2026-01-14 22:30:00"):
            notification = services.notify(user=night_owl, category="system", title="Later", body="")
            push = NotificationDelivery.objects.get(notification=notification, channel="push")

            assert services.delivery_send(delivery_id=push.pk) is None

        push.refresh_from_db()
        assert (push.status, push.attempts) == ("pending", 0)
        assert expo.requests == []

    def test_outside_quiet_hours_nothing_waits(self, night_owl):
        with freeze_time("2026-01-15 12:00:00"):
            notification = services.notify(user=night_owl, category="system", title="Noon", body="")

        assert not NotificationDelivery.objects.filter(notification=notification, not_before__isnull=False).exists()
