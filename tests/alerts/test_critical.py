"""A critical episode until someone reacts: reminders every ALERT_REPEAT_MINUTES (3 at most), one escalation after
ALERT_ESCALATION_MINUTES to caregivers and emergency contacts, nothing more once acknowledged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import CareTeamGrant
from alerts.models import AlertEpisode
from alerts.services import episodes_run_due
from notifications.models import Notification, NotificationDelivery, QuietHours
from tests.notifications.factories import EmergencyContactFactory

from .factories import AlertThresholdFactory

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/alerts/"


@pytest.fixture
def critical(client_a, user_a, post_reading):
    """User A's heart rate of 38 bpm, just now: a clinical critical, and the moment the person was told."""
    told_at = timezone.now()
    with freeze_time(told_at):
        post_reading(client_a, metric_type="heart_rate", value=38, recorded_at=told_at.isoformat())
    episode = AlertEpisode.objects.get(user=user_a)
    assert episode.severity == "critical"
    return episode, told_at


def run_at(moment):
    with freeze_time(moment):
        return episodes_run_due()


def reminders(user):
    return Notification.objects.filter(recipient=user, data__kind="reminder").order_by("created_at")


class TestReminders:
    def test_the_person_is_reminded_every_ten_minutes_three_times_at_most(self, user_a, critical):
        _, told_at = critical

        assert run_at(told_at + timedelta(minutes=9)).reminders == 0
        assert run_at(told_at + timedelta(minutes=10)).reminders == 1
        assert run_at(told_at + timedelta(minutes=10, seconds=30)).reminders == 0
        assert run_at(told_at + timedelta(minutes=20)).reminders == 1
        assert run_at(told_at + timedelta(minutes=30)).reminders == 1
        assert run_at(told_at + timedelta(minutes=60)).reminders == 0

        assert [n.data["reminder"] for n in reminders(user_a)] == [1, 2, 3]
        assert {n.severity for n in reminders(user_a)} == {"critical"}

    def test_an_acknowledgement_stops_them(self, client_a, user_a, critical):
        episode, told_at = critical
        run_at(told_at + timedelta(minutes=10))
        with freeze_time(told_at + timedelta(minutes=12)):
            assert client_a.post(f"{ALERTS}{episode.pk}/acknowledge/").status_code == 200

        work = run_at(told_at + timedelta(minutes=40))

        assert (work.reminders, work.escalations) == (0, 0)
        assert reminders(user_a).count() == 1

    def test_a_reading_back_in_range_ends_them(self, client_a, user_a, critical, post_reading):
        _, told_at = critical
        with freeze_time(told_at + timedelta(minutes=2)):
            post_reading(client_a, metric_type="heart_rate", value=66, recorded_at=timezone.now().isoformat())

        work = run_at(told_at + timedelta(minutes=40))

        assert (work.reminders, work.escalations) == (0, 0)

    def test_quiet_hours_never_hold_a_critical(self, user_a, client_a, post_reading):
        QuietHours.objects.create(user=user_a, start="00:00", end="23:59")

        post_reading(client_a, metric_type="heart_rate", value=38, recorded_at=timezone.now().isoformat())

        push = NotificationDelivery.objects.get(notification__recipient=user_a, channel="push")
        assert push.not_before is None

    def test_a_warning_is_never_repeated_nor_escalated(self, client_a, user_a, post_reading):
        told_at = timezone.now()
        with freeze_time(told_at):
            post_reading(client_a, metric_type="heart_rate", value=115, recorded_at=told_at.isoformat())

        work = run_at(told_at + timedelta(hours=1))

        assert (work.reminders, work.escalations) == (0, 0)


class TestEscalation:
    @pytest.fixture
    def circle(self, user_a, doctor):
        """A grantee holding `alerts`, another without it, a contact by e-mail and one by phone only."""
        CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["alerts", "health_metrics"])
        by_mail = EmergencyContactFactory(user=user_a, notify_on_critical=True)
        by_phone = EmergencyContactFactory(user=user_a, notify_on_critical=True, email="", phone_number="+15550001")
        EmergencyContactFactory(user=user_a, notify_on_critical=False)
        return doctor, by_mail, by_phone

    def test_after_fifteen_minutes_the_care_circle_is_told_exactly_once(self, user_a, critical, circle):
        episode, told_at = critical
        grantee, by_mail, by_phone = circle

        assert run_at(told_at + timedelta(minutes=14)).escalations == 0
        assert run_at(told_at + timedelta(minutes=15)).escalations == 1
        assert run_at(told_at + timedelta(minutes=16)).escalations == 0

        episode.refresh_from_db()
        assert episode.escalated_at == told_at + timedelta(minutes=15)
        [told] = Notification.objects.filter(recipient=grantee)
        assert (told.category, told.severity, told.data["kind"]) == ("health_alert", "critical", "escalation")
        assert told.data["patient"] == {"id": str(user_a.pk), "name": user_a.full_name}
        assert user_a.full_name in told.title and "38" not in told.title + told.body
        [note] = Notification.objects.filter(recipient=user_a, data__kind="escalation")
        contact_deliveries = {d.contact_id: d.channel for d in note.deliveries.exclude(contact=None)}
        assert contact_deliveries == {by_mail.pk: "email", by_phone.pk: "sms"}

    def test_a_caregiver_is_told_and_contacts_are_told_whatever_the_persons_own_preferences(
        self, api, client_a, user_a, critical, django_capture_on_commit_callbacks
    ):
        from tests.accounts.caregivers import invite_and_accept
        from tests.accounts.factories import UserFactory

        _, told_at = critical
        caregiver = api(UserFactory())
        invite_and_accept(client_a, caregiver, scopes=["alerts"], capture=django_capture_on_commit_callbacks)
        contact = EmergencyContactFactory(user=user_a, notify_on_critical=True)
        preferences = {
            "categories": {"health_alert": {"in_app": True, "email": False, "push": False}},
            "quiet_hours_start": None,
            "quiet_hours_end": None,
        }
        assert client_a.put("/api/v1/notifications/preferences/", preferences, format="json").status_code == 200

        assert run_at(told_at + timedelta(minutes=15)).escalations == 1

        assert Notification.objects.filter(recipient=caregiver.user, data__kind="escalation").count() == 1
        assert NotificationDelivery.objects.filter(contact=contact, channel="email", status="pending").count() == 1

    def test_with_nobody_to_tell_it_is_marked_escalated_and_tells_nobody(self, user_a, critical):
        episode, told_at = critical

        assert run_at(told_at + timedelta(minutes=15)).escalations == 1

        episode.refresh_from_db()
        assert episode.escalated_at is not None
        assert not Notification.objects.filter(data__kind="escalation").exists()

    def test_an_acknowledged_episode_is_not_escalated(self, client_a, user_a, critical, circle):
        episode, told_at = critical
        with freeze_time(told_at + timedelta(minutes=5)):
            client_a.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert run_at(told_at + timedelta(minutes=30)).escalations == 0
        assert not Notification.objects.filter(recipient=circle[0]).exists()

    def test_a_persons_own_critical_threshold_escalates_like_a_clinical_one(
        self, client_a, user_a, circle, post_reading
    ):
        AlertThresholdFactory(user=user_a, metric_type="blood_sugar", min_value=80, max_value=None, severity="critical")
        told_at = timezone.now()
        with freeze_time(told_at):
            # 75 mg/dL: clinically only a warning (below 70 is level 1), critical by the person's own limit.
            post_reading(client_a, metric_type="blood_sugar", value=75, recorded_at=told_at.isoformat())

        assert run_at(told_at + timedelta(minutes=15)).escalations == 1
        assert Notification.objects.filter(recipient=circle[0], data__kind="escalation").count() == 1

    def test_a_rise_to_critical_starts_the_clock_afresh(self, api, client_a, user_a, post_reading, circle):
        start = timezone.now()
        with freeze_time(start):
            post_reading(client_a, metric_type="heart_rate", value=115, recorded_at=start.isoformat())
        episode = AlertEpisode.objects.get(rule="clinical_threshold")
        with freeze_time(start + timedelta(minutes=1)):
            client_a.post(f"{ALERTS}{episode.pk}/acknowledge/")
        with freeze_time(start + timedelta(minutes=20)):
            # A client signed in now: the first one's access token has expired.
            post_reading(api(user_a), metric_type="heart_rate", value=140, recorded_at=timezone.now().isoformat())

        episode.refresh_from_db()
        assert (episode.severity, episode.status, episode.acknowledged_at) == ("critical", "open", None)
        assert run_at(start + timedelta(minutes=34)).escalations == 0
        assert run_at(start + timedelta(minutes=35)).escalations == 1


class TestQuietEpisodes:
    def test_a_live_episode_that_heard_nothing_for_the_gap_is_closed(self, client_a, user_a, post_reading):
        start = timezone.now()
        with freeze_time(start):
            post_reading(client_a, metric_type="heart_rate", value=115, recorded_at=start.isoformat())

        assert run_at(start + timedelta(hours=5)).closed == 0
        assert run_at(start + timedelta(hours=6, minutes=1)).closed == 1

        episode = AlertEpisode.objects.get()
        assert (episode.status, episode.close_reason) == ("closed", "quiet")
        assert episode.closed_at == episode.last_signal_at + timedelta(hours=6)
