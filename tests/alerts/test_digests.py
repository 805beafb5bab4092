"""Readings too old to alert on (a backlog, a late offline upload) are flagged but open no episode: each upload that
flags any of them adds at most one digest notification."""

from __future__ import annotations

import uuid

import pytest

from alerts.models import AlertEpisode
from health_metrics.anomalies import anomaly_check_run
from health_metrics.models import HealthMetric, PendingAnomalyCheck
from notifications.models import Notification
from tests.iot_devices.factories import pair_device
from tests.iot_devices.factories import reading as device_reading

from .conftest import ago

pytestmark = pytest.mark.django_db

BULK = "/api/v1/health-metrics/bulk/"
UPLOAD = "/api/v1/devices/me/batches/"


def digests(user):
    return Notification.objects.filter(recipient=user, category="health_alert", data__kind="digest")


def old_bp(systolic, diastolic, hours_ago):
    return {
        "metric_type": "blood_pressure",
        "systolic_value": systolic,
        "diastolic_value": diastolic,
        "recorded_at": ago(hours=hours_ago),
    }


class TestBulk:
    def test_an_old_backlog_is_flagged_and_told_in_one_digest(
        self, client_a, user_a, django_capture_on_commit_callbacks
    ):
        items = [old_bp(150 + i % 5, 95, hours_ago=48 + i) for i in range(6)] + [old_bp(118, 75, hours_ago=30)]

        with django_capture_on_commit_callbacks(execute=True):
            r = client_a.post(BULK, {"metrics": items}, format="json")

        assert r.status_code == 201
        assert HealthMetric.objects.filter(user=user_a, is_anomaly=True).count() == 6
        assert not AlertEpisode.objects.exists()
        [digest] = digests(user_a)
        assert digest.data == {"kind": "digest", "flagged_count": 6, "batch": None}
        assert digest.severity == "warning"
        assert digest.title == "6 earlier readings flagged"
        assert Notification.objects.filter(recipient=user_a).count() == 1

    def test_an_old_upload_that_flags_nothing_tells_nobody(self, client_a, user_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            client_a.post(BULK, {"metrics": [old_bp(118, 75, hours_ago=30)]}, format="json")

        assert not Notification.objects.filter(recipient=user_a).exists()

    def test_fresh_readings_of_the_same_upload_still_open_their_episode(
        self, client_a, user_a, django_capture_on_commit_callbacks
    ):
        items = [old_bp(152, 95, hours_ago=50), {**old_bp(150, 92, hours_ago=0), "recorded_at": ago(minutes=5)}]

        with django_capture_on_commit_callbacks(execute=True):
            client_a.post(BULK, {"metrics": items}, format="json")

        assert AlertEpisode.objects.get().reading_count == 1
        assert digests(user_a).get().data["flagged_count"] == 1

    def test_judging_the_upload_again_adds_no_second_digest(self, client_a, user_a):
        # No on-commit callbacks: the detection task was lost, as if the broker was down.
        client_a.post(BULK, {"metrics": [old_bp(150, 95, hours_ago=40)]}, format="json")
        check = PendingAnomalyCheck.objects.get()

        anomaly_check_run(check)
        anomaly_check_run(check)  # the sweep and a late redelivery both ran it

        assert digests(user_a).count() == 1


class TestDeviceBatches:
    def test_each_batch_of_a_backlog_adds_at_most_one_digest(self, user_a, django_capture_on_commit_callbacks):
        watch = pair_device(user_a, device_type="blood_pressure_monitor")
        batch_ids = []
        for batch in range(3):
            readings = [
                device_reading(
                    "blood_pressure",
                    systolic_value=145 + i % 15,
                    diastolic_value=85 + i % 10,
                    minutes_ago=(26 + batch) * 60 + i,
                )
                for i in range(40)
            ]
            with django_capture_on_commit_callbacks(execute=True):
                r = watch.client().post(UPLOAD, {"batch_id": str(uuid.uuid4()), "readings": readings}, format="json")
            assert r.status_code == 202, r.content
            batch_ids.append(r.json()["id"])

        assert not AlertEpisode.objects.exists()
        sent = list(digests(user_a).order_by("created_at"))
        assert [d.data["batch"] for d in sent] == batch_ids
        flagged = HealthMetric.objects.filter(user=user_a, is_anomaly=True).count()
        assert sum(d.data["flagged_count"] for d in sent) == flagged > 0
        assert Notification.objects.filter(recipient=user_a, category="health_alert").count() == 3


class TestManyReadingsOfOneWrite:
    def test_the_digest_of_a_write_of_many_readings_has_a_key_that_fits(self, user_a):
        from datetime import timedelta

        from django.utils import timezone

        from health_metrics.anomalies import anomalies_detect
        from tests.alerts.factories import reading

        start = timezone.now() - timedelta(days=3)
        readings = [reading(user_a, "heart_rate", 150, at=start + timedelta(minutes=i)) for i in range(60)]

        anomalies_detect(user_id=user_a.pk, metric_ids=[r.pk for r in readings])

        [digest] = digests(user_a)
        assert digest.data["flagged_count"] == 60
        assert len(digest.dedupe_key) <= 200
