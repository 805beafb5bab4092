"""The ingestion tasks as the worker and beat see them: names, queues, schedule."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.test import override_settings

from iot_devices import ingestion, tasks
from jeghealth_backend.celery import app


def test_tasks_have_explicit_names_and_the_ingest_queue():
    assert tasks.process_batch.name == "iot_devices.process_batch"
    assert app.amqp.router.route({}, tasks.process_batch.name)["queue"].name == "ingest"
    assert tasks.requeue_stale_batches.name == "iot_devices.requeue_stale_batches"
    assert tasks.check_offline.name == "iot_devices.check_offline"


def test_beat_sweeps_stale_batches_every_minute_and_checks_offline_devices():
    by_task = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert by_task["iot_devices.requeue_stale_batches"] == timedelta(minutes=1)
    assert by_task["iot_devices.check_offline"] == timedelta(minutes=5)


def test_a_batch_answered_202_is_final_within_ten_minutes_with_the_defaults():
    # API.md: a worker that died is overtaken after its lease, found by the sweeper at most a minute later;
    # the poison guard bounds how often that can happen.
    assert settings.IOT_BATCH_LEASE_SECONDS + 60 < 10 * 60
    assert settings.IOT_INGEST_CHUNK_SIZE <= 500


@override_settings(IOT_INGEST_CHUNK_SIZE=5000)
def test_a_chunk_holds_at_most_500_readings_whatever_the_setting():
    # Checklist D7: a worker killed mid-chunk loses at most 500 readings of work.
    assert ingestion._chunk_size() == 500
