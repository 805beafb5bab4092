"""PostgreSQL behaviour of ingestion: the plain insert and its skipping redo, and overlapping batches of one
device processed at the same moment by two workers.

SQLite serialises every writer and its insert always skips stored readings, so neither the unique-key wait nor
the redo can happen there.
"""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from django.conf import settings
from django.test import override_settings

from health_metrics import device_writes
from health_metrics.models import HealthMetric
from iot_devices import ingestion
from iot_devices.models import DeviceDataBatch
from iot_devices.tasks import process_batch
from tests.accounts.factories import UserFactory
from tests.concurrency import run_together

from .factories import heart_rates, pair_device

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent connections and unique-key waits; CI runs it"),
    pytest.mark.django_db(transaction=True),
]


def receive(paired, readings) -> DeviceDataBatch:
    with mock.patch.object(process_batch, "apply_async"):
        batch, _ = ingestion.batch_receive(device=paired.device, device_batch_id=uuid.uuid4(), readings=readings)
    return batch


def spy_inserts():
    """Patch the insert to record, per call, whether it skipped stored readings and whether it failed."""
    real = device_writes.device_readings_insert
    calls: list[tuple[bool, str]] = []

    def insert(*args, skip_stored, **kwargs):
        try:
            stored = real(*args, skip_stored=skip_stored, **kwargs)
        except Exception as exc:
            calls.append((skip_stored, type(exc).__name__))
            raise
        calls.append((skip_stored, f"stored {stored}"))
        return stored

    return mock.patch.object(device_writes, "device_readings_insert", insert), calls


@override_settings(IOT_INGEST_CHUNK_SIZE=3)
def test_new_readings_take_the_plain_insert_and_an_overlapping_chunk_is_redone_skipping():
    watch = pair_device(UserFactory())
    readings = heart_rates(9)
    ingestion.batch_process(batch_pk=receive(watch, readings[:4]).pk)

    patch, calls = spy_inserts()
    with patch:
        batch = receive(watch, readings[2:])
        assert ingestion.batch_process(batch_pk=batch.pk).outcome is ingestion.Outcome.FINALISED

    # Chunks [2,3,4] and [5,6,7] and [8]: the first overlaps two stored readings.
    assert calls == [
        (False, "IntegrityError"),
        (True, "stored 1"),
        (False, "stored 3"),
        (False, "stored 1"),
    ]
    batch.refresh_from_db()
    assert (batch.status, batch.accepted_count, batch.already_stored_count) == ("completed", 7, 2)
    assert HealthMetric.objects.count() == 9
    assert HealthMetric.objects.filter(device_data_batch_id=batch.pk).count() == 5


@override_settings(IOT_INGEST_CHUNK_SIZE=50)
def test_overlapping_batches_of_one_device_processed_at_once_store_every_reading_once():
    watch = pair_device(UserFactory())
    readings = heart_rates(300)
    # Two uploads sharing 100 readings (a device that re-sent part of its buffer under a new batch id).
    first, second = receive(watch, readings[:200]), receive(watch, readings[100:])

    results = run_together(
        lambda: ingestion.batch_process(batch_pk=first.pk),
        lambda: ingestion.batch_process(batch_pk=second.pk),
    )

    assert [r.outcome for r in results] == [ingestion.Outcome.FINALISED, ingestion.Outcome.FINALISED], results
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("completed", "completed")
    assert first.accepted_count == second.accepted_count == 200
    # Each shared reading is stored by exactly one of them; the other counts it as already stored.
    assert first.already_stored_count + second.already_stored_count == 100
    assert HealthMetric.objects.count() == 300
    assert HealthMetric.objects.values("recorded_at").distinct().count() == 300
    stored_by = {
        batch.pk: HealthMetric.objects.filter(device_data_batch_id=batch.pk).count() for batch in (first, second)
    }
    assert stored_by[first.pk] == 200 - first.already_stored_count
    assert stored_by[second.pk] == 200 - second.already_stored_count
