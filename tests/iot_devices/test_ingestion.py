"""Processing batches: the rules of manual entry per reading, idempotent chunks, claims, leases, the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError

from health_metrics import device_writes
from health_metrics.anomalies import check_batch
from health_metrics.models import HealthMetric, PendingAnomalyCheck, PendingRollup
from health_metrics.selectors import BatchReadings, readings_written
from health_metrics.tasks import sweep_anomaly_checks
from iot_devices import ingestion
from iot_devices.models import DeviceAlert, DeviceDataBatch
from iot_devices.tasks import process_batch, requeue_stale_batches

from .factories import heart_rates, pair_device, reading

UPLOAD = "/api/v1/devices/me/batches/"

pytestmark = pytest.mark.django_db


def receive(paired, readings, batch_id=None) -> DeviceDataBatch:
    """Store a batch as the upload endpoint does, without processing it."""
    with mock.patch.object(process_batch, "apply_async"):
        batch, _ = ingestion.batch_receive(
            device=paired.device, device_batch_id=batch_id or uuid.uuid4(), readings=readings
        )
    return batch


def processed(paired, readings, batch_id=None) -> DeviceDataBatch:
    batch = receive(paired, readings, batch_id)
    assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.FINALISED
    batch.refresh_from_db()
    return batch


class TestWhatIsStored:
    def test_valid_readings_are_stored_for_the_owner_as_device_readings(self, watch_a, user_a):
        batch = processed(watch_a, [reading("heart_rate", 70), reading("steps", 1200, minutes_ago=30)])
        assert (batch.status, batch.accepted_count, batch.rejected_count) == ("completed", 2, 0)
        rows = HealthMetric.objects.filter(device_data_batch_id=batch.pk)
        assert rows.count() == 2
        for row in rows:
            assert (row.user_id, row.device_id, row.source, row.is_manual_entry) == (
                user_a.id,
                watch_a.device.id,
                "device",
                False,
            )

    def test_a_user_field_in_the_payload_is_ignored(self, watch_a, user_a, user_b):
        batch = processed(watch_a, [reading(user=str(user_b.id), patient=str(user_b.id), user_id=str(user_b.id))])
        assert batch.accepted_count == 1
        assert not HealthMetric.objects.filter(user=user_b).exists()
        assert HealthMetric.objects.get(device_data_batch_id=batch.pk).user_id == user_a.id

    def test_units_are_converted_to_the_canonical_one(self, user_a):
        scale = pair_device(user_a, device_type="smart_scale")
        processed(scale, [reading("weight", 176.37, unit="lb")])
        row = HealthMetric.objects.get()
        assert row.unit == "kg" and row.entered_unit == "lb" and row.entered_value == 176.37
        assert row.value == pytest.approx(80.0, abs=0.01)

    def test_blood_pressure_is_stored_with_both_values(self, user_a):
        cuff = pair_device(user_a, device_type="blood_pressure_monitor")
        processed(cuff, [reading("blood_pressure", systolic_value=135, diastolic_value=85)])
        row = HealthMetric.objects.get()
        assert (row.systolic_value, row.diastolic_value, row.value) == (135, 85, None)

    def test_it_tells_health_metrics_what_changed_once_the_batch_is_final(self, watch_a, user_a):
        readings = [reading("heart_rate", 70, minutes_ago=90), reading("steps", 10, minutes_ago=30)]
        with mock.patch("health_metrics.device_writes.metrics_changed") as changed:
            batch = processed(watch_a, readings)
        changed.assert_called_once()
        kwargs = changed.call_args.kwargs
        start = datetime.fromisoformat(readings[0]["recorded_at"])
        end = datetime.fromisoformat(readings[1]["recorded_at"])
        assert kwargs["user_id"] == user_a.id
        assert set(kwargs["metric_types"]) == {"heart_rate", "steps"}
        assert (kwargs["start"], kwargs["end"]) == (start, end)
        assert kwargs["batch"] == BatchReadings(batch.pk, start, end)
        assert readings_written(user_id=user_a.id, batch=kwargs["batch"]).count() == 2
        # The rollups were marked stale by the first chunk, in the readings' transaction; the refresh is
        # enqueued for exactly those marks.
        marks = PendingRollup.objects.filter(user_id=user_a.id)
        assert sorted(kwargs["pending_ids"]) == sorted(str(pk) for pk in marks.values_list("pk", flat=True))
        assert {(m.metric_type, m.start, m.end) for m in marks} == {("heart_rate", start, end), ("steps", start, end)}

    def test_the_pending_rollups_are_written_with_the_readings(self, watch_a, user_a):
        processed(watch_a, [reading("heart_rate", 70)])
        assert PendingRollup.objects.filter(user_id=user_a.id, metric_type="heart_rate").count() == 1

    def test_one_anomaly_check_names_the_batch_instead_of_its_reading_ids(self, watch_a, user_a):
        batch = processed(watch_a, heart_rates(5))
        check = PendingAnomalyCheck.objects.get(user_id=user_a.id)
        assert (check.batch_id, check.reading_ids) == (batch.pk, [])
        assert set(readings_written(user_id=user_a.id, batch=check_batch(check))) == set(
            HealthMetric.objects.filter(device_data_batch_id=batch.pk)
        )

    def test_a_lost_detection_task_of_a_batch_is_made_up_by_the_sweep(self, watch_a, user_a):
        # No on-commit callback runs inside the test transaction: as if the broker had been down at the end.
        batch = processed(watch_a, [reading("heart_rate", 35, minutes_ago=20), reading("heart_rate", 70)])
        PendingAnomalyCheck.objects.update(created_at=timezone.now() - timedelta(minutes=6))
        sweep_anomaly_checks()
        flagged = HealthMetric.objects.filter(device_data_batch_id=batch.pk, is_anomaly=True)
        assert [m.value for m in flagged] == [35]
        assert flagged.get().anomaly_reason.startswith("critical: heart rate at or below 40")
        assert not PendingAnomalyCheck.objects.exists()

    def test_a_batch_that_stored_nothing_new_tells_nobody(self, watch_a):
        readings = heart_rates(3)
        processed(watch_a, readings)
        with mock.patch("health_metrics.device_writes.metrics_changed") as changed:
            again = processed(watch_a, readings)
        assert (again.accepted_count, again.already_stored_count) == (3, 3)
        changed.assert_not_called()
        # Its first chunk marked the rollups of its range stale; with nothing changed the marks are withdrawn.
        assert PendingRollup.objects.count() == 1  # the first batch's, whose refresh the test never ran


class TestRejectedReadings:
    @pytest.mark.parametrize(
        "bad, field",
        [
            ({"metric_type": "heart_rate", "value": "72", "recorded_at": "2025-01-01T00:00:00Z"}, "value"),
            ({"metric_type": "heart_rate", "value": True, "recorded_at": "2025-01-01T00:00:00Z"}, "value"),
            ({"metric_type": "heart_rate", "value": 72, "unit": "mph", "recorded_at": "2025-01-01T00:00Z"}, "unit"),
            ({"metric_type": "heart_rate", "value": 900, "recorded_at": "2025-01-01T00:00:00Z"}, "value"),
            ({"metric_type": "heart_rate", "value": 72, "recorded_at": "2025-01-01T00:00:00"}, "recorded_at"),
            ({"metric_type": "heart_rate", "value": 72}, "recorded_at"),
            ({"metric_type": "pulse", "value": 72, "recorded_at": "2025-01-01T00:00:00Z"}, "metric_type"),
            ("heart_rate 72", "non_field_errors"),
        ],
    )
    def test_an_invalid_reading_is_rejected_alone_with_its_index(self, watch_a, bad, field):
        batch = processed(watch_a, [reading(minutes_ago=5), bad, reading(minutes_ago=3)])
        assert (batch.status, batch.accepted_count, batch.rejected_count) == ("partially_failed", 2, 1)
        (error,) = batch.errors
        assert error["index"] == 1 and error["code"] == "invalid"
        assert field in error["fields"]
        assert error["message"]
        assert HealthMetric.objects.count() == 2

    def test_a_future_timestamp_is_rejected(self, watch_a):
        future = (timezone.now() + timedelta(hours=1)).isoformat()
        batch = processed(watch_a, [{"metric_type": "heart_rate", "value": 70, "recorded_at": future}])
        assert batch.status == "failed"
        assert batch.errors[0]["fields"]["recorded_at"] == ["Cannot be in the future."]
        assert not HealthMetric.objects.exists()

    def test_future_is_judged_against_the_upload_time(self, watch_a):
        soon = (timezone.now() + timedelta(minutes=4)).isoformat()
        batch = receive(watch_a, [{"metric_type": "heart_rate", "value": 70, "recorded_at": soon}])
        with freeze_time(timezone.now() - timedelta(hours=2)):
            ingestion.batch_process(batch_pk=batch.pk)
        batch.refresh_from_db()
        assert batch.status == "completed"

    def test_the_second_reading_of_a_type_and_time_is_a_duplicate(self, watch_a):
        first = reading("heart_rate", 70, minutes_ago=5)
        batch = processed(watch_a, [first, reading("steps", 5, minutes_ago=5), {**first, "value": 71}])
        assert batch.rejected_count == 1
        assert batch.errors == [
            {
                "index": 2,
                "code": "duplicate",
                "message": "An earlier reading of this batch has the same metric type and recorded_at.",
            }
        ]
        assert HealthMetric.objects.get(metric_type="heart_rate").value == 70

    def test_a_metric_the_device_is_not_configured_for_is_rejected(self, user_a):
        meter = pair_device(user_a, device_type="glucose_meter")
        batch = processed(meter, [reading("blood_sugar", 100), reading("heart_rate", 70)])
        assert batch.errors[0]["index"] == 1 and batch.errors[0]["code"] == "metric_not_configured"
        assert list(HealthMetric.objects.values_list("metric_type", flat=True)) == ["blood_sugar"]

    def test_a_batch_with_nothing_valid_fails_and_raises_a_sync_failure_alert(self, watch_a):
        batch = processed(watch_a, [{"metric_type": "heart_rate"}, {"value": 3}])
        assert batch.status == "failed"
        assert batch.failure_reason
        assert batch.rejected_count == 2 and [e["index"] for e in batch.errors] == [0, 1]
        alert = DeviceAlert.objects.get(device=watch_a.device)
        assert (alert.alert_type, alert.is_resolved) == ("sync_failure", False)


class TestOverlappingBatches:
    def test_readings_already_stored_are_accepted_not_stored_twice(self, watch_a):
        readings = heart_rates(6)
        first = processed(watch_a, readings[:4])
        second = processed(watch_a, readings[2:])
        assert (first.accepted_count, first.already_stored_count) == (4, 0)
        assert (second.status, second.accepted_count, second.already_stored_count) == ("completed", 4, 2)
        assert HealthMetric.objects.count() == 6
        assert HealthMetric.objects.filter(device_data_batch_id=second.pk).count() == 2


class TestChunksAndDeliveries:
    @override_settings(IOT_INGEST_CHUNK_SIZE=3)
    def test_a_crash_mid_batch_keeps_whole_chunks_and_a_redelivery_finishes_exactly_once(self, watch_a):
        readings = heart_rates(8)
        readings[4] = {"metric_type": "heart_rate", "value": -1, "recorded_at": readings[4]["recorded_at"]}
        batch = receive(watch_a, readings)
        calls = {"n": 0}
        real_insert = device_writes.device_readings_insert

        def crash_on_second_chunk(*args, **kwargs):
            calls["n"] += 1
            stored = real_insert(*args, **kwargs)
            if calls["n"] == 2:
                raise OperationalError("worker lost mid-chunk")
            return stored

        with (
            mock.patch.object(device_writes, "device_readings_insert", crash_on_second_chunk),
            pytest.raises(OperationalError),
        ):
            ingestion.batch_process(batch_pk=batch.pk)
        batch.refresh_from_db()
        assert (batch.status, batch.processed_count, batch.accepted_count) == ("processing", 3, 3)
        assert HealthMetric.objects.count() == 3  # the second chunk rolled back whole

        # The redelivery waits for the lease, then resumes at the first uncommitted chunk.
        assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.LEASED
        with freeze_time(timezone.now() + timedelta(seconds=121)):
            assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.FINALISED
        batch.refresh_from_db()
        assert (batch.status, batch.accepted_count, batch.rejected_count, batch.attempts) == (
            "partially_failed",
            7,
            1,
            2,
        )
        assert [e["index"] for e in batch.errors] == [4]
        assert HealthMetric.objects.count() == 7
        assert HealthMetric.objects.values("recorded_at").distinct().count() == 7
        # Thresholds and anomaly detection cover the dead delivery's chunk too: they name the batch.
        (check,) = PendingAnomalyCheck.objects.all()
        assert readings_written(user_id=watch_a.device.owner_id, batch=check_batch(check)).count() == 7

    @override_settings(IOT_INGEST_CHUNK_SIZE=2)
    def test_duplicates_across_chunks_are_found_after_a_resume(self, watch_a):
        readings = heart_rates(3)
        readings.append({**readings[0], "value": 99})
        batch = receive(watch_a, readings)
        # A first delivery committed the first chunk and died in the second.
        with (
            mock.patch.object(ingestion, "_commit_chunk", _first_then_die(ingestion._commit_chunk)),
            pytest.raises(OperationalError),
        ):
            ingestion.batch_process(batch_pk=batch.pk)
        with freeze_time(timezone.now() + timedelta(seconds=121)):
            ingestion.batch_process(batch_pk=batch.pk)
        batch.refresh_from_db()
        assert [(e["index"], e["code"]) for e in batch.errors] == [(3, "duplicate")]
        assert HealthMetric.objects.count() == 3

    def test_a_finished_batch_is_not_processed_again(self, watch_a):
        batch = processed(watch_a, heart_rates(2))
        assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.ALREADY_FINAL
        assert process_batch.apply(args=[str(batch.pk)]).get() == "already_final"
        assert HealthMetric.objects.count() == 2

    def test_a_deleted_batch_is_a_logged_no_op(self, db):
        assert process_batch.apply(args=[str(uuid.uuid4())]).get() == "missing"

    def test_a_delivery_that_lost_its_lease_commits_nothing(self, watch_a):
        batch = receive(watch_a, heart_rates(2))
        real_commit = ingestion._commit_chunk

        def overtaken(batch_, token, *args):
            DeviceDataBatch.objects.filter(pk=batch_.pk).update(lease_token=uuid.uuid4())
            return real_commit(batch_, token, *args)

        with mock.patch.object(ingestion, "_commit_chunk", overtaken):
            assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.LOST_LEASE
        assert not HealthMetric.objects.exists()

    @override_settings(IOT_BATCH_MAX_ATTEMPTS=2)
    def test_a_batch_claimed_too_often_is_failed_not_looped(self, watch_a):
        batch = receive(watch_a, heart_rates(2))
        DeviceDataBatch.objects.filter(pk=batch.pk).update(status="processing", attempts=2, lease_expires_at=None)
        assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.FINALISED
        batch.refresh_from_db()
        assert batch.status == "failed"
        assert "Gave up" in batch.failure_reason
        assert not HealthMetric.objects.exists()
        assert DeviceAlert.objects.filter(device=watch_a.device, alert_type="sync_failure").exists()
        assert not PendingAnomalyCheck.objects.exists()

    @override_settings(IOT_BATCH_MAX_ATTEMPTS=2)
    def test_a_batch_whose_payload_cannot_be_read_is_failed_not_looped(self, watch_a):
        batch = receive(watch_a, heart_rates(2))
        unreadable = mock.patch.object(ingestion, "batch_payload", side_effect=ValueError("cannot decode"))
        for _ in range(2):
            with unreadable, pytest.raises(ValueError):
                ingestion.batch_process(batch_pk=batch.pk)
            DeviceDataBatch.objects.filter(pk=batch.pk).update(lease_expires_at=None)
        with unreadable:
            assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.FINALISED
        batch.refresh_from_db()
        assert (batch.status, batch.attempts) == ("failed", 3)
        assert not HealthMetric.objects.exists()

    @override_settings(IOT_BATCH_MAX_ATTEMPTS=2, IOT_INGEST_CHUNK_SIZE=2)
    def test_a_batch_given_up_after_storing_some_readings_still_hands_them_to_health_metrics(self, watch_a):
        batch = receive(watch_a, heart_rates(4))
        with (
            mock.patch.object(ingestion, "_commit_chunk", _first_then_die(ingestion._commit_chunk)),
            pytest.raises(OperationalError),
        ):
            ingestion.batch_process(batch_pk=batch.pk)
        DeviceDataBatch.objects.filter(pk=batch.pk).update(attempts=2, lease_expires_at=None)
        with mock.patch("health_metrics.device_writes.metrics_changed") as changed:
            assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.FINALISED
        batch.refresh_from_db()
        assert (batch.status, batch.accepted_count) == ("failed", 2)
        kwargs = changed.call_args.kwargs
        assert readings_written(user_id=watch_a.device.owner_id, batch=kwargs["batch"]).count() == 2


def _first_then_die(real_commit):
    calls = {"n": 0}

    def commit(*args):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OperationalError("died")
        return real_commit(*args)

    return commit


class TestBrokerDown:
    def test_an_upload_is_stored_and_answered_202_when_the_broker_is_down(
        self, watch_a, django_capture_on_commit_callbacks
    ):
        down = mock.patch.object(process_batch, "apply_async", side_effect=OperationalError("connection refused"))
        with down, django_capture_on_commit_callbacks(execute=True):
            r = watch_a.client().post(
                UPLOAD, {"batch_id": str(uuid.uuid4()), "readings": heart_rates(3)}, format="json"
            )
        assert r.status_code == 202
        assert DeviceDataBatch.objects.get(pk=r.json()["id"]).status == "received"

    def test_the_sweeper_enqueues_it_once_the_broker_is_back(self, watch_a, django_capture_on_commit_callbacks):
        down = mock.patch.object(process_batch, "apply_async", side_effect=OperationalError("down"))
        with down as enqueue, django_capture_on_commit_callbacks(execute=True):
            batch, _ = ingestion.batch_receive(
                device=watch_a.device, device_batch_id=uuid.uuid4(), readings=heart_rates(3)
            )
        enqueue.assert_called_once()
        assert requeue_stale_batches.apply().get() == 0  # too fresh: it may still be in a queue
        with freeze_time(timezone.now() + timedelta(minutes=3)):
            assert requeue_stale_batches.apply().get() == 1
        batch.refresh_from_db()
        assert batch.status == "completed"
        assert HealthMetric.objects.count() == 3

    def test_the_sweeper_takes_over_a_batch_whose_worker_died(self, watch_a):
        batch = receive(watch_a, heart_rates(2))
        DeviceDataBatch.objects.filter(pk=batch.pk).update(
            status="processing", attempts=1, lease_expires_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
        with mock.patch.object(process_batch, "apply_async") as enqueue:
            assert ingestion.batches_requeue_stale() == 1
        enqueue.assert_called_once()
