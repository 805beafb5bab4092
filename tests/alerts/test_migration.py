"""The data migration that moved the person's thresholds and threshold episodes from notifications to alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.migrating import migrate_to, migrate_to_latest

BEFORE = [("notifications", "0005_push_installation_and_receipts"), ("alerts", "0001_alerts_episodes_thresholds")]
AFTER = [
    ("notifications", "0006_alert_rules_moved_to_alerts"),
    ("alerts", "0002_thresholds_and_episodes_from_notifications"),
]
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_thresholds_and_episodes_move_and_nothing_alerts_again():
    old = migrate_to(BEFORE)
    try:
        User = old.get_model("accounts", "User")
        Threshold = old.get_model("notifications", "AlertThreshold")
        OldEpisode = old.get_model("notifications", "AlertEpisode")
        person = User.objects.create(email="moved@example.org", username="moved", password="x")
        warning = Threshold.objects.create(
            user=person,
            metric_type="heart_rate",
            max_value=110,
            severity="warning",
            evaluated_until=T0 + timedelta(hours=2),
        )
        critical = Threshold.objects.create(
            user=person,
            metric_type="heart_rate",
            max_value=130,
            severity="critical",
            evaluated_until=T0 + timedelta(hours=3),
        )
        OldEpisode.objects.create(
            threshold=warning,
            started_at=T0,
            last_crossing_at=T0 + timedelta(hours=1),
            reading_count=4,
            first_reading_id="r1",
        )
        OldEpisode.objects.create(
            threshold=critical,
            started_at=T0,
            last_crossing_at=T0 + timedelta(hours=2),
            reading_count=2,
            first_reading_id="r2",
        )
        OldEpisode.objects.create(
            threshold=warning,
            started_at=T0 - timedelta(days=3),
            last_crossing_at=T0 - timedelta(days=3),
            ended_at=T0 - timedelta(days=2),
            end_reason="quiet",
            first_reading_id="r0",
        )

        new = migrate_to(AFTER)

        moved = new.get_model("alerts", "AlertThreshold").objects.order_by("severity")
        assert [(t.pk, t.severity, t.max_value) for t in moved] == [
            (critical.pk, "critical", 130.0),
            (warning.pk, "warning", 110.0),
        ]
        episodes = new.get_model("alerts", "AlertEpisode").objects.filter(user_id=person.pk)
        live = episodes.filter(closed_at=None)
        # One live episode per person, rule and metric: the most severe one stays live.
        assert [(e.rule, e.metric_type, e.severity, e.reading_count) for e in live] == [
            ("personal_threshold", "heart_rate", "critical", 2)
        ]
        assert episodes.filter(status="closed").count() == 2
        assert episodes.get(close_reason="quiet").closed_at == T0 - timedelta(days=2)
        cursor = new.get_model("alerts", "MetricCursor").objects.get(user_id=person.pk, metric_type="heart_rate")
        assert cursor.judged_until == T0 + timedelta(hours=3)
    finally:
        migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_the_move_reverses_with_the_thresholds():
    new = migrate_to(AFTER)
    try:
        User = new.get_model("accounts", "User")
        person = User.objects.create(email="back@example.org", username="back", password="x")
        new.get_model("alerts", "AlertThreshold").objects.create(user=person, metric_type="weight", max_value=90)

        old = migrate_to(BEFORE)

        assert old.get_model("notifications", "AlertThreshold").objects.get(user_id=person.pk).max_value == 90.0
    finally:
        migrate_to_latest()
