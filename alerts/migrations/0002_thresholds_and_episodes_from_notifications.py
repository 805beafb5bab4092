"""Data: the thresholds and threshold episodes that notifications kept until the alert rules moved to alerts.

Thresholds are copied as they are (ids included, so clients keep their ids). Threshold episodes become
`personal_threshold` episodes of their metric; where one person had live episodes of several severities of one
metric, the most severe stays live (one live episode per person, rule and metric) and the others close where
they were. How far each metric was evaluated becomes the person's metric cursor, so nothing alerts again after
the move. Reversed, the thresholds go back to notifications; episodes (notification history) do not, and the alerts
tables are emptied.
"""

from django.db import migrations

RANK = {"info": 0, "warning": 1, "critical": 2}
COLUMNS = "id, user_id, metric_type, min_value, max_value, diastolic_min_value, diastolic_max_value, severity, created_at, updated_at"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO alerts_alertthreshold ({COLUMNS}) SELECT {COLUMNS} FROM notifications_alertthreshold")
    OldThreshold = apps.get_model("notifications", "AlertThreshold")
    OldEpisode = apps.get_model("notifications", "AlertEpisode")
    Episode = apps.get_model("alerts", "AlertEpisode")
    Cursor = apps.get_model("alerts", "MetricCursor")

    until: dict[tuple, object] = {}
    for t in OldThreshold.objects.exclude(evaluated_until=None).only("user_id", "metric_type", "evaluated_until"):
        key = (t.user_id, t.metric_type)
        until[key] = max(until.get(key, t.evaluated_until), t.evaluated_until)
    Cursor.objects.bulk_create(
        [Cursor(user_id=u, metric_type=m, judged_until=at) for (u, m), at in until.items()], batch_size=500
    )

    live: dict[tuple, object] = {}
    rows = []
    for old in OldEpisode.objects.select_related("threshold").order_by("started_at", "id").iterator(chunk_size=500):
        t = old.threshold
        episode = Episode(
            id=old.id,
            user_id=t.user_id,
            rule="personal_threshold",
            metric_type=t.metric_type,
            severity=t.severity,
            notified_severity=t.severity,
            status="closed" if old.ended_at else "open",
            opened_at=old.started_at,
            closed_at=old.ended_at,
            close_reason={"back_in_range": "back_in_range", "quiet": "quiet"}.get(old.end_reason, "threshold_changed")
            if old.ended_at
            else "",
            reading_count=old.reading_count,
            last_reading_at=old.last_crossing_at,
            last_signal_at=old.last_crossing_at,
            created_at=old.created_at,
            updated_at=old.created_at,
        )
        if episode.closed_at is None:
            key = (t.user_id, t.metric_type)
            other = live.get(key)
            if other is not None:
                keep, drop = (episode, other) if RANK[episode.severity] > RANK[other.severity] else (other, episode)
                drop.status, drop.closed_at, drop.close_reason = "closed", drop.last_signal_at, "threshold_changed"
                live[key] = keep
            else:
                live[key] = episode
        rows.append(episode)
    Episode.objects.bulk_create(rows, batch_size=500)


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO notifications_alertthreshold ({COLUMNS}, evaluated_until) SELECT {COLUMNS}, NULL FROM alerts_alertthreshold")
    # What this migration wrote goes, so that running it forward again finds the tables as it left them.
    apps.get_model("alerts", "EpisodeReading").objects.all().delete()
    apps.get_model("alerts", "AlertEpisode").objects.all().delete()
    apps.get_model("alerts", "MetricCursor").objects.all().delete()
    apps.get_model("alerts", "AlertThreshold").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_alerts_episodes_thresholds"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
