"""Health alerts from a person's thresholds: one alert per episode, and critical ones reach emergency contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications import tasks
from notifications.models import AlertEpisode, Notification, NotificationDelivery
from notifications.services import EPISODE_GAP, readings_check_thresholds

from .factories import AlertThresholdFactory, EmergencyContactFactory, reading

pytestmark = pytest.mark.django_db


def check(user, *readings):
    return readings_check_thresholds(user_id=user.pk, reading_ids=[r.pk for r in readings])


def minutes_ago(n: int):
    return timezone.now() - timedelta(minutes=n)


class TestThresholdCrossing:
    def test_a_reading_above_the_maximum_raises_a_health_alert(self, user_a):
        threshold = AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120, severity="warning")
        high = reading(user_a, "heart_rate", 134)

        [notification] = check(user_a, high)

        assert (notification.category, notification.severity) == ("health_alert", "warning")
        assert notification.title == "Heart rate above your warning limit"
        assert "134" not in notification.title + notification.body  # pushes and e-mails carry no values
        assert notification.data | {"recorded_local": None} == {
            "reading_id": str(high.pk),
            "threshold_id": str(threshold.pk),
            "episode_id": str(AlertEpisode.objects.get().pk),
            "metric_type": "heart_rate",
            "metric_label": "Heart rate",
            "field": "value",
            "direction": "above",
            "value": 134.0,
            "limit": 120.0,
            "unit": "bpm",
            "recorded_at": high.recorded_at.isoformat(),
            "recorded_local": None,
        }

    def test_a_reading_below_the_minimum_raises_a_health_alert(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="blood_sugar", min_value=70, max_value=None)

        [notification] = check(user_a, reading(user_a, "blood_sugar", 52))

        assert notification.data["direction"] == "below"

    def test_a_reading_in_range_or_on_a_bound_raises_nothing(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", min_value=40, max_value=120)

        assert check(user_a, reading(user_a, "heart_rate", 120), reading(user_a, "heart_rate", 40)) == []
        assert not Notification.objects.exists()

    def test_blood_pressure_bounds_apply_to_systolic_and_diastolic(self, user_a):
        AlertThresholdFactory(
            user=user_a, metric_type="blood_pressure", min_value=None, max_value=140, diastolic_max_value=90
        )

        [notification] = check(user_a, reading(user_a, "blood_pressure", systolic=130, diastolic=95))

        assert (notification.data["field"], notification.data["limit"]) == ("diastolic_value", 90.0)
        assert notification.body.startswith("A diastolic blood pressure reading recorded at ")

    def test_other_metrics_and_other_peoples_readings_are_ignored(self, user_a, user_b):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)

        assert check(user_a, reading(user_a, "blood_sugar", 400), reading(user_b, "heart_rate", 200)) == []

    def test_suspect_and_old_readings_raise_nothing(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)
        suspect = reading(user_a, "heart_rate", 200, quality="suspect")
        last_week = reading(user_a, "heart_rate", 200, at=timezone.now() - timedelta(days=7))

        assert check(user_a, suspect, last_week) == []

    def test_of_thresholds_crossed_by_one_reading_only_the_most_severe_alerts(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=100, severity="warning")
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=140, severity="critical")

        [notification] = check(user_a, reading(user_a, "heart_rate", 160))

        assert notification.severity == "critical"
        assert AlertEpisode.objects.filter(ended_at__isnull=True).count() == 2

    def test_the_alert_is_delivered_after_commit(self, user_a, django_capture_on_commit_callbacks):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)

        with django_capture_on_commit_callbacks(execute=True):
            tasks.check_thresholds.apply(args=[str(user_a.pk), [str(reading(user_a, "heart_rate", 150).pk)]])

        [message] = mail.outbox
        assert message.subject == "JEGHealth: Heart rate above your warning limit"


class TestEpisodes:
    def test_consecutive_crossing_readings_alert_once(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)

        first = check(user_a, reading(user_a, "heart_rate", 130, at=minutes_ago(30)))
        later = check(user_a, reading(user_a, "heart_rate", 135, at=minutes_ago(20)))
        batch = check(user_a, *(reading(user_a, "heart_rate", 140 + i, at=minutes_ago(10 - i)) for i in range(5)))

        assert (len(first), later, batch) == (1, [], [])
        episode = AlertEpisode.objects.get()
        assert (episode.reading_count, episode.ended_at) == (7, None)

    def test_a_reading_back_in_range_ends_the_episode_and_the_next_crossing_alerts_again(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)

        check(user_a, reading(user_a, "heart_rate", 130, at=minutes_ago(30)))
        check(user_a, reading(user_a, "heart_rate", 80, at=minutes_ago(20)))
        again = check(user_a, reading(user_a, "heart_rate", 131, at=minutes_ago(10)))

        assert len(again) == 1
        assert list(AlertEpisode.objects.order_by("started_at").values_list("end_reason", flat=True)) == [
            "back_in_range",
            "",
        ]

    def test_a_crossing_after_a_quiet_gap_is_a_new_episode(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)
        start = timezone.now() - EPISODE_GAP - timedelta(hours=2)

        check(user_a, reading(user_a, "heart_rate", 130, at=start))
        again = check(user_a, reading(user_a, "heart_rate", 130, at=start + EPISODE_GAP + timedelta(minutes=1)))

        assert len(again) == 1
        first = AlertEpisode.objects.order_by("started_at").first()
        assert (first.end_reason, first.ended_at) == ("quiet", start + EPISODE_GAP)

    def test_a_late_reading_older_than_what_was_evaluated_changes_nothing(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)
        check(user_a, reading(user_a, "heart_rate", 80, at=minutes_ago(5)))

        assert check(user_a, reading(user_a, "heart_rate", 150, at=minutes_ago(60))) == []

    def test_checking_the_same_readings_twice_alerts_once(self, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)
        high = reading(user_a, "heart_rate", 150)

        check(user_a, high)
        check(user_a, high)

        assert Notification.objects.count() == 1

    def test_changing_the_threshold_ends_its_episode(self, user_a, client_a):
        threshold = AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120)
        check(user_a, reading(user_a, "heart_rate", 130, at=minutes_ago(10)))

        client_a.patch(f"/api/v1/notifications/alert-thresholds/{threshold.pk}/", {"max_value": 125})
        again = check(user_a, reading(user_a, "heart_rate", 130, at=minutes_ago(5)))

        assert len(again) == 1


class TestEmergencyContacts:
    @pytest.fixture
    def critical(self, user_a):
        return AlertThresholdFactory(user=user_a, metric_type="oxygen_saturation", min_value=88, max_value=None,
                                     severity="critical")  # fmt: skip

    def test_a_critical_alert_e_mails_the_contacts_who_asked_once_per_episode(
        self, user_a, critical, django_capture_on_commit_callbacks
    ):
        sister = EmergencyContactFactory(user=user_a, name="Ana", notify_on_critical=True)
        EmergencyContactFactory(user=user_a, notify_on_critical=False)

        with django_capture_on_commit_callbacks(execute=True):
            check(user_a, reading(user_a, "oxygen_saturation", 84, at=minutes_ago(20)))
            check(user_a, reading(user_a, "oxygen_saturation", 83, at=minutes_ago(10)))
            check(user_a, reading(user_a, "oxygen_saturation", 82, at=minutes_ago(5)))

        to_contacts = [m for m in mail.outbox if m.to == [sister.email]]
        assert len(to_contacts) == 1
        [message] = to_contacts
        assert message.subject == f"JEGHealth: urgent reading for {user_a.full_name}"
        assert f"{user_a.full_name} named you as an emergency contact" in message.body
        assert "One of their readings is urgent." in message.body
        # No diagnosis beyond "urgent reading": neither the metric nor the value.
        assert "84" not in message.body and "oxygen" not in message.body.lower()
        assert len(mail.outbox) == 2  # and the person's own e-mail

    def test_a_contact_with_only_a_phone_number_gets_an_sms(
        self, user_a, critical, sms, django_capture_on_commit_callbacks
    ):
        contact = EmergencyContactFactory(user=user_a, email="", phone_number="+33 6 12 34 56 78")

        with django_capture_on_commit_callbacks(execute=True):
            check(user_a, reading(user_a, "oxygen_saturation", 84, at=minutes_ago(5)))

        [request] = sms.requests
        assert request["form"]["To"] == "+33612345678"
        assert request["form"]["Body"] == f"JEGHealth: an urgent reading for {user_a.full_name}. Please check on them."
        delivery = NotificationDelivery.objects.get(contact=contact)
        assert (delivery.channel, delivery.status) == ("sms", "sent")

    def test_a_new_episode_e_mails_them_again(self, user_a, critical, django_capture_on_commit_callbacks):
        EmergencyContactFactory(user=user_a)

        with django_capture_on_commit_callbacks(execute=True):
            check(user_a, reading(user_a, "oxygen_saturation", 84, at=minutes_ago(30)))
            check(user_a, reading(user_a, "oxygen_saturation", 97, at=minutes_ago(20)))
            check(user_a, reading(user_a, "oxygen_saturation", 85, at=minutes_ago(10)))

        assert NotificationDelivery.objects.filter(contact__isnull=False, status="sent").count() == 2

    def test_a_warning_alert_does_not_e_mail_contacts(self, user_a, django_capture_on_commit_callbacks):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=120, severity="warning")
        EmergencyContactFactory(user=user_a)

        with django_capture_on_commit_callbacks(execute=True):
            check(user_a, reading(user_a, "heart_rate", 150))

        assert not NotificationDelivery.objects.filter(contact__isnull=False).exists()

    def test_contacts_are_told_even_when_the_person_turned_health_alert_e_mails_off(
        self, user_a, critical, client_a, django_capture_on_commit_callbacks
    ):
        contact = EmergencyContactFactory(user=user_a)
        client_a.put(
            "/api/v1/notifications/preferences/", {"categories": {"health_alert": {"email": False}}}, format="json"
        )

        with django_capture_on_commit_callbacks(execute=True):
            check(user_a, reading(user_a, "oxygen_saturation", 80))

        assert [m.to for m in mail.outbox] == [[contact.email]]

    def test_the_daily_quota_per_contact_holds_under_a_flood_of_episodes(
        self, user_a, critical, settings, django_capture_on_commit_callbacks
    ):
        settings.NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY = 2
        contact = EmergencyContactFactory(user=user_a)

        with django_capture_on_commit_callbacks(execute=True):
            for i in range(4):  # four episodes: low, normal, low, normal, …
                check(user_a, reading(user_a, "oxygen_saturation", 80, at=minutes_ago(60 - 10 * i)))
                check(user_a, reading(user_a, "oxygen_saturation", 97, at=minutes_ago(55 - 10 * i)))

        assert len([m for m in mail.outbox if m.to == [contact.email]]) == 2
        skipped = NotificationDelivery.objects.filter(contact=contact, status="skipped")
        assert [d.last_error for d in skipped] == ["daily quota of messages to this contact"] * 2

    def test_the_daily_quota_per_person_holds_across_contacts(
        self, user_a, critical, settings, django_capture_on_commit_callbacks
    ):
        settings.NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY = 3
        EmergencyContactFactory.create_batch(2, user=user_a)

        with django_capture_on_commit_callbacks(execute=True):
            for i in range(3):
                check(user_a, reading(user_a, "oxygen_saturation", 80, at=minutes_ago(60 - 10 * i)))
                check(user_a, reading(user_a, "oxygen_saturation", 97, at=minutes_ago(55 - 10 * i)))

        contact_deliveries = NotificationDelivery.objects.filter(contact__isnull=False)
        assert contact_deliveries.filter(status="sent").count() == 3
        assert contact_deliveries.filter(status="skipped").count() == 3
        assert len([m for m in mail.outbox if m.to != [user_a.email]]) == 3


class TestReadingsStoredThroughTheHealthMetricsApi:
    def test_a_reading_posted_by_the_app_is_checked_against_the_persons_threshold(self, user_a, client_a):
        AlertThresholdFactory(user=user_a, metric_type="temperature", min_value=35, max_value=38.5)
        r = client_a.post(
            "/api/v1/health-metrics/",
            {"metric_type": "temperature", "value": 102.2, "unit": "fahrenheit", "recorded_at": minutes_ago(1)},
            format="json",
        )
        assert r.status_code == 201

        # health_metrics.services.metrics_changed checks the thresholds in the writing transaction.
        [notification] = Notification.objects.filter(recipient=user_a, category="health_alert")
        assert readings_check_thresholds(user_id=user_a.pk, reading_ids=[r.json()["id"]]) == []

        assert notification.data["value"] == pytest.approx(39.0)
        assert (notification.data["unit"], notification.data["limit"]) == ("celsius", 38.5)
