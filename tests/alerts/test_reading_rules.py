"""The reading rules through the API: a reading opens an episode, later ones join it, the person is told when it
opens or its severity rises, and it closes back in range or after the quiet gap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertEpisode, EpisodeReading
from health_metrics.models import HealthMetric
from notifications.models import Notification

from .conftest import ago
from .factories import AlertThresholdFactory

pytestmark = pytest.mark.django_db


def health_alerts(user):
    return Notification.objects.filter(recipient=user, category="health_alert").order_by("created_at")


def bp(systolic, diastolic, **when):
    return {
        "metric_type": "blood_pressure",
        "systolic_value": systolic,
        "diastolic_value": diastolic,
        "recorded_at": ago(**when),
    }


class TestOpening:
    def test_a_hypertensive_crisis_opens_a_critical_episode_and_tells_the_person_once(
        self, client_a, user_a, post_reading
    ):
        reading = post_reading(client_a, **bp(192, 118, minutes=3))

        episode = AlertEpisode.objects.get(user=user_a)
        assert (episode.rule, episode.metric_type, episode.severity, episode.status) == (
            "clinical_threshold",
            "blood_pressure",
            "critical",
            "open",
        )
        assert episode.reading_count == 1
        assert episode.worst["id"] == reading["id"]
        assert (episode.worst["systolic_value"], episode.worst["diastolic_value"]) == (192.0, 118.0)
        [notification] = health_alerts(user_a)
        assert (notification.severity, notification.title) == ("critical", "Urgent blood pressure reading")
        assert "192" not in notification.title + notification.body  # pushes and e-mails carry no values
        assert notification.data["episode_id"] == str(episode.pk)
        assert notification.data["systolic_value"] == 192.0
        assert notification.data["reasons"] == [
            "critical: systolic above 180 mmHg (hypertensive crisis)",
            "warning: diastolic 90 mmHg or more (stage 2 hypertension)",
        ]
        assert HealthMetric.objects.get(pk=reading["id"]).is_anomaly  # the flag stays per reading

    def test_later_crossing_readings_join_the_episode_without_another_notification(
        self, client_a, user_a, post_reading
    ):
        post_reading(client_a, **bp(150, 92, minutes=30))
        post_reading(client_a, **bp(155, 95, minutes=20))
        worst = post_reading(client_a, **bp(162, 99, minutes=10))
        post_reading(client_a, **bp(148, 91, minutes=5))

        episode = AlertEpisode.objects.get(user=user_a, rule="clinical_threshold")
        assert (episode.severity, episode.reading_count) == ("warning", 4)
        assert episode.worst["id"] == worst["id"]
        assert episode.last_reading_at.isoformat() == HealthMetric.objects.latest("recorded_at").recorded_at.isoformat()
        assert health_alerts(user_a).count() == 1
        assert EpisodeReading.objects.filter(episode=episode).count() == 4

    def test_a_rising_severity_tells_the_person_again_in_the_same_episode(self, client_a, user_a, post_reading):
        post_reading(client_a, **bp(150, 92, minutes=30))
        post_reading(client_a, **bp(186, 100, minutes=20))
        post_reading(client_a, **bp(150, 92, minutes=10))

        episode = AlertEpisode.objects.get(user=user_a, rule="clinical_threshold")
        assert episode.severity == "critical"
        assert [n.severity for n in health_alerts(user_a)] == ["warning", "critical"]
        assert [n.data["kind"] for n in health_alerts(user_a)] == ["opened", "severity_rose"]

    def test_a_normal_reading_tells_nobody(self, client_a, user_a, post_reading):
        post_reading(client_a, **bp(118, 76, minutes=3))

        assert not AlertEpisode.objects.exists()
        assert not health_alerts(user_a).exists()


class TestClosing:
    def test_a_reading_back_in_range_closes_the_episode(self, client_a, user_a, post_reading):
        post_reading(client_a, metric_type="heart_rate", value=135, recorded_at=ago(minutes=20))
        normal = post_reading(client_a, metric_type="heart_rate", value=72, recorded_at=ago(minutes=10))

        episode = AlertEpisode.objects.get(user=user_a)
        assert (episode.status, episode.close_reason) == ("closed", "back_in_range")
        assert episode.closed_at.isoformat() == HealthMetric.objects.get(pk=normal["id"]).recorded_at.isoformat()
        assert episode.next_reminder_at is None  # nothing left to remind of

    def test_a_crossing_after_the_quiet_gap_opens_a_new_episode(self, client_a, user_a, post_reading):
        post_reading(client_a, metric_type="heart_rate", value=115, recorded_at=ago(hours=14))
        post_reading(client_a, metric_type="heart_rate", value=116, recorded_at=ago(hours=7))

        first, second = AlertEpisode.objects.filter(user=user_a).order_by("opened_at")
        assert (first.status, first.close_reason) == ("closed", "quiet")
        # It ended when the gap ran out after its last reading, not when the next one came.
        assert first.closed_at == first.last_signal_at + timedelta(hours=6)
        assert second.status == "open"
        assert health_alerts(user_a).count() == 2

    def test_crossings_within_the_gap_stay_one_episode(self, client_a, user_a, post_reading):
        for hours in (16, 11, 6, 1):
            post_reading(client_a, metric_type="heart_rate", value=115, recorded_at=ago(hours=hours))

        episode = AlertEpisode.objects.get(user=user_a)
        assert (episode.status, episode.reading_count) == ("open", 4)
        assert health_alerts(user_a).count() == 1


class TestPersonalThresholds:
    def test_the_persons_own_threshold_opens_its_own_episode(self, client_a, user_a, post_reading):
        # Clinically normal, but above the limit this person chose with their doctor.
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", min_value=None, max_value=90)

        post_reading(client_a, metric_type="heart_rate", value=96, recorded_at=ago(minutes=5))

        episode = AlertEpisode.objects.get(user=user_a)
        assert (episode.rule, episode.severity) == ("personal_threshold", "warning")
        [notification] = health_alerts(user_a)
        assert notification.title == "Heart rate above your warning limit"
        assert (notification.data["direction"], notification.data["limit"]) == ("above", 90.0)

    def test_one_reading_crossing_several_rules_is_told_once_by_the_most_severe(self, client_a, user_a, post_reading):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=100, severity="warning")

        post_reading(client_a, metric_type="heart_rate", value=140, recorded_at=ago(minutes=5))

        assert set(AlertEpisode.objects.values_list("rule", "severity")) == {
            ("personal_threshold", "warning"),
            ("clinical_threshold", "critical"),
        }
        [notification] = health_alerts(user_a)
        assert notification.severity == "critical"
        assert notification.data["rule"] == "clinical_threshold"
        assert len(notification.data["also"]) == 1

    def test_acknowledging_the_alert_acknowledges_every_episode_it_spoke_for(self, client_a, user_a, post_reading):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=100, severity="warning")
        post_reading(client_a, metric_type="heart_rate", value=140, recorded_at=ago(minutes=5))
        [notification] = health_alerts(user_a)

        r = client_a.post(f"/api/v1/alerts/{notification.data['episode_id']}/acknowledge/")

        assert r.status_code == 200
        assert set(AlertEpisode.objects.values_list("status", flat=True)) == {"acknowledged"}
        assert not AlertEpisode.objects.exclude(next_reminder_at=None).exists()

    def test_changing_a_threshold_ends_its_live_episode(self, client_a, user_a, post_reading):
        threshold = AlertThresholdFactory(user=user_a, metric_type="heart_rate", max_value=100, severity="warning")
        post_reading(client_a, metric_type="heart_rate", value=105, recorded_at=ago(minutes=5))

        r = client_a.patch(f"/api/v1/notifications/alert-thresholds/{threshold.pk}/", {"max_value": 110}, format="json")

        assert r.status_code == 200
        episode = AlertEpisode.objects.get(rule="personal_threshold")
        assert (episode.status, episode.close_reason) == ("closed", "threshold_changed")


class TestBaseline:
    def test_a_reading_unusual_for_the_person_opens_a_warning_episode(self, client_a, user_a, post_reading):
        start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        for days in range(1, 13):
            HealthMetric.objects.create(
                user=user_a,
                metric_type="heart_rate",
                value=68 + days % 4,
                unit="bpm",
                recorded_at=start - timedelta(days=days),
            )

        post_reading(client_a, metric_type="heart_rate", value=96, recorded_at=timezone.now().isoformat())

        episode = AlertEpisode.objects.get(user=user_a)
        assert (episode.rule, episode.severity) == ("baseline_anomaly", "warning")
        assert health_alerts(user_a).get().title == "Unusual heart rate reading"


class TestWhatMovesNothing:
    def test_a_suspect_reading_is_flagged_but_opens_no_episode(self, client_a, user_a, post_reading):
        post_reading(client_a, metric_type="temperature", value=36.8, recorded_at=ago(minutes=8))
        # A jump of more than 3 °C in 10 minutes is a likely measurement error: stored as suspect.
        suspect = post_reading(client_a, metric_type="temperature", value=40.2, recorded_at=ago(minutes=3))

        stored = HealthMetric.objects.get(pk=suspect["id"])
        assert (stored.quality, stored.is_anomaly) == ("suspect", True)
        assert not AlertEpisode.objects.exists()

    def test_a_late_reading_older_than_one_already_judged_moves_nothing(self, client_a, user_a, post_reading):
        post_reading(client_a, metric_type="heart_rate", value=72, recorded_at=ago(minutes=5))
        post_reading(client_a, metric_type="heart_rate", value=140, recorded_at=ago(minutes=30))

        assert not AlertEpisode.objects.exists()
        assert not health_alerts(user_a).exists()

    def test_judging_the_same_write_twice_tells_nobody_twice(self, client_a, user_a, post_reading):
        from health_metrics.anomalies import anomalies_detect

        reading = post_reading(client_a, metric_type="heart_rate", value=140, recorded_at=ago(minutes=5))
        anomalies_detect(user_id=user_a.pk, metric_ids=[reading["id"]])

        assert AlertEpisode.objects.get().reading_count == 1
        assert health_alerts(user_a).count() == 1

    def test_another_persons_readings_are_not_mine(self, client_a, client_b, user_a, post_reading):
        post_reading(client_b, metric_type="heart_rate", value=140, recorded_at=ago(minutes=5))

        assert not AlertEpisode.objects.filter(user=user_a).exists()


class TestDeletedReadings:
    def test_a_deleted_reading_leaves_its_episode(self, client_a, user_a, post_reading):
        reading = post_reading(client_a, metric_type="heart_rate", value=140, recorded_at=ago(minutes=5))

        assert client_a.delete(f"/api/v1/health-metrics/{reading['id']}/").status_code == 204

        episode = AlertEpisode.objects.get()
        assert not EpisodeReading.objects.filter(episode=episode).exists()
        assert episode.worst["id"] == reading["id"]  # the snapshot of what the person was told stays
