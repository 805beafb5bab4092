"""Anomaly detection after every write: clinical thresholds, change rules and the robust z-score."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts.models import AlertEpisode
from health_metrics.anomalies import anomalies_detect
from health_metrics.models import HealthMetric
from health_metrics.services import metrics_changed
from notifications.models import Notification
from tests.health_metrics.conftest import BASE
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 7, 24, 12, 0, tzinfo=UTC)


def post(client, **body):
    body.setdefault("recorded_at", NOW.isoformat())
    response = client.post(BASE, body, format="json")
    assert response.status_code == 201, response.json()
    return HealthMetric.objects.get(pk=response.json()["id"])


def history(user, values, metric_type="heart_rate"):
    """One reading a day for the days before NOW, as stored history."""
    for days_ago, value in enumerate(values, start=1):
        HealthMetricFactory(user=user, metric_type=metric_type, value=value, recorded_at=NOW - timedelta(days=days_ago))


class TestThresholds:
    def test_a_hypertensive_crisis_is_flagged_with_its_reason(self, client_a):
        reading = post(client_a, metric_type="blood_pressure", systolic_value=185, diastolic_value=95)
        reading.refresh_from_db()
        assert reading.is_anomaly
        # The most severe threshold per value and direction: not "stage 2" on top of "crisis" for systolic.
        assert reading.anomaly_reason == (
            "critical: systolic above 180 mmHg (hypertensive crisis); "
            "warning: diastolic 90 mmHg or more (stage 2 hypertension)"
        )

    def test_a_normal_reading_is_not_flagged(self, client_a):
        reading = post(client_a, metric_type="blood_pressure", systolic_value=118, diastolic_value=76)
        reading.refresh_from_db()
        assert (reading.is_anomaly, reading.anomaly_reason) == (False, "")

    @pytest.mark.parametrize(
        ("metric_type", "value", "unit", "level"),
        [
            ("heart_rate", 38, None, "critical"),
            ("heart_rate", 48, None, "warning"),
            ("heart_rate", 135, None, "critical"),
            ("blood_sugar", 50, None, "critical"),
            ("blood_sugar", 3.5, "mmol/L", "warning"),  # 63 mg/dL
            ("temperature", 102.9, "°F", "critical"),  # 39.4 °C
            ("oxygen_saturation", 0.88, "fraction", "critical"),
            ("oxygen_saturation", 93, None, "warning"),
            ("bmi", 17, None, "info"),
        ],
    )
    def test_readings_beyond_the_default_alert_thresholds_are_flagged(self, client_a, metric_type, value, unit, level):
        body = {"metric_type": metric_type, "value": value}
        if unit:
            body["unit"] = unit
        reading = post(client_a, **body)
        reading.refresh_from_db()
        assert reading.is_anomaly
        assert reading.anomaly_reason.startswith(f"{level}:")

    def test_a_weight_gain_of_more_than_900_g_in_a_day_is_flagged(self, client_a, user_a):
        HealthMetricFactory(user=user_a, metric_type="weight", value=80, recorded_at=NOW - timedelta(hours=20))
        reading = post(client_a, metric_type="weight", value=81.0)
        reading.refresh_from_db()
        assert reading.anomaly_reason == "warning: weight gain over 0.9 kg in 24 h"

    def test_a_five_percent_weight_loss_in_30_days_is_flagged(self, client_a, user_a):
        HealthMetricFactory(user=user_a, metric_type="weight", value=80, recorded_at=NOW - timedelta(days=20))
        reading = post(client_a, metric_type="weight", value=76)
        reading.refresh_from_db()
        assert reading.anomaly_reason == "warning: weight loss of 5 % or more in 30 days"


class TestRobustZScore:
    def test_a_reading_far_from_the_persons_own_spread_is_flagged(self, client_a, user_a):
        history(user_a, [68, 70, 72, 69, 71, 70, 73, 67, 70, 71, 69, 72])
        reading = post(client_a, metric_type="heart_rate", value=95)  # within the clinical range
        reading.refresh_from_db()
        assert reading.is_anomaly
        assert "robust z-score" in reading.anomaly_reason

    def test_a_reading_within_the_spread_is_not_flagged(self, client_a, user_a):
        history(user_a, [68, 70, 72, 69, 71, 70, 73, 67, 70, 71, 69, 72])
        reading = post(client_a, metric_type="heart_rate", value=74)
        reading.refresh_from_db()
        assert not reading.is_anomaly

    def test_fewer_than_ten_readings_are_no_baseline(self, client_a, user_a):
        history(user_a, [68, 70, 72, 69, 71, 70, 73, 67, 70])
        reading = post(client_a, metric_type="heart_rate", value=95)
        reading.refresh_from_db()
        assert not reading.is_anomaly

    def test_a_spread_of_zero_is_skipped(self, client_a, user_a):
        history(user_a, [70] * 12)
        reading = post(client_a, metric_type="heart_rate", value=95)
        reading.refresh_from_db()
        assert not reading.is_anomaly

    def test_readings_older_than_30_days_are_not_the_baseline(self, client_a, user_a):
        for days_ago in range(31, 43):
            HealthMetricFactory(user=user_a, value=70 + days_ago % 3, recorded_at=NOW - timedelta(days=days_ago))
        reading = post(client_a, metric_type="heart_rate", value=95)
        reading.refresh_from_db()
        assert not reading.is_anomaly

    def test_blood_pressure_is_scored_per_value(self, client_a, user_a):
        for days_ago in range(1, 13):
            HealthMetricFactory(
                user=user_a,
                metric_type="blood_pressure",
                value=None,
                systolic_value=118 + days_ago % 4,
                diastolic_value=70 + days_ago % 3,
                recorded_at=NOW - timedelta(days=days_ago),
            )
        reading = post(client_a, metric_type="blood_pressure", systolic_value=119, diastolic_value=85)
        reading.refresh_from_db()
        assert reading.anomaly_reason == "unusual diastolic for this person (robust z-score above 3.5 over 30 days)"


class TestIdempotence:
    def test_detection_run_twice_flags_and_alerts_once(self, user_a, caplog):
        reading = HealthMetricFactory(user=user_a, value=150, recorded_at=timezone.now())
        with caplog.at_level(logging.INFO):
            assert anomalies_detect(user_id=user_a.pk, metric_ids=[reading.pk]) == 1
            assert anomalies_detect(user_id=user_a.pk, metric_ids=[reading.pk]) == 0
        reading.refresh_from_db()
        assert reading.anomaly_reason == "critical: heart rate 131 bpm or more (NEWS2 3)"
        assert AlertEpisode.objects.get().rule == "clinical_threshold"
        assert Notification.objects.filter(recipient=user_a, category="health_alert").count() == 1
        # The logs carry identifiers and counts, never the value.
        assert "150" not in " ".join(r.getMessage() + str(r.__dict__.get("flagged", "")) for r in caplog.records)

    def test_it_ignores_another_persons_readings(self, user_a, user_b):
        reading = HealthMetricFactory(user=user_b, value=150)
        assert anomalies_detect(user_id=user_a.pk, metric_ids=[reading.pk]) == 0
        reading.refresh_from_db()
        assert not reading.is_anomaly


class TestReadingsStoredByRawSql:
    def test_metrics_changed_detects_anomalies_in_rows_inserted_by_sql(
        self, user_a, django_capture_on_commit_callbacks
    ):
        reading_id = uuid.uuid4()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO health_metrics_healthmetric (id, user_id, metric_type, value, unit, entered_value, "
                "entered_unit, recorded_at, source, is_manual_entry, notes, metadata, quality, is_anomaly, "
                "anomaly_reason, created_at, recorded_offset_minutes, source_name) VALUES (%s, %s, 'heart_rate', 35, "
                "'bpm', 35, 'bpm', %s, 'device', false, '', '{}', 'ok', false, '', %s, 0, 'cuff')",
                [
                    reading_id.hex if connection.vendor == "sqlite" else reading_id,
                    user_a.pk.hex if connection.vendor == "sqlite" else user_a.pk,
                    NOW,
                    NOW,
                ],
            )
        with django_capture_on_commit_callbacks(execute=True):
            metrics_changed(user_id=user_a.pk, metric_types=["heart_rate"], start=NOW, end=NOW, metric_ids=[reading_id])

        reading = HealthMetric.objects.get(pk=reading_id)
        assert reading.is_anomaly
        assert reading.anomaly_reason.startswith("critical: heart rate at or below 40")


class TestLostDetection:
    """A reading whose detection task never ran (broker down) still gets detection from the beat sweep."""

    def test_the_sweep_detects_what_the_lost_task_would_have(self, user_a):
        from django.utils import timezone

        from health_metrics.models import PendingAnomalyCheck
        from health_metrics.tasks import sweep_anomaly_checks
        from tests.conftest import client_for

        client_a = client_for(user_a)  # a plain client: its on-commit work never runs, like a lost task
        body = {"metric_type": "heart_rate", "value": 190, "recorded_at": timezone.now().isoformat()}
        # No on-commit callbacks run inside the test transaction: exactly as if the enqueue had failed.
        r = client_a.post("/api/v1/health-metrics/", body, format="json")
        assert r.status_code == 201
        assert PendingAnomalyCheck.objects.filter(user=user_a).count() == 1
        # Flagged as it was stored (a clinical threshold needs no history), but nobody was told yet.
        assert HealthMetric.objects.get(pk=r.json()["id"]).is_anomaly is True
        assert not AlertEpisode.objects.exists()

        PendingAnomalyCheck.objects.update(created_at=timezone.now() - timedelta(minutes=6))
        sweep_anomaly_checks()

        assert AlertEpisode.objects.get(user=user_a).severity == "critical"
        assert Notification.objects.filter(recipient=user_a, category="health_alert").count() == 1
        assert not PendingAnomalyCheck.objects.exists()
        sweep_anomaly_checks()  # nothing left to do, nobody told twice
        assert Notification.objects.filter(recipient=user_a, category="health_alert").count() == 1
