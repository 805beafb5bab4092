"""An accepted import is never lost and never counted twice: the broker down at upload, a worker dying mid-file,
a delivery that lost its lease, and the poison guard (health_metrics/imports/run.py). The task runs in line here;
test_import_worker.py runs imports in a real Celery worker."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time
from kombu.exceptions import OperationalError

from health_metrics import tasks
from health_metrics.imports import run
from health_metrics.imports.run import imports_requeue_stale, upload_storage
from health_metrics.models import HealthMetric, ImportJob, ImportStatus
from tests.health_metrics import import_files as files
from tests.health_metrics.conftest import BASE

pytestmark = pytest.mark.django_db(transaction=True)

URL = BASE + "imports/"
MINUTES = [f"2025-01-01 08:{minute:02d}:00 -0500" for minute in range(7)]
# Seven heart rates and one record of a type we do not map (a refusal in the middle of the file).
BODY = (
    "".join(
        files.record("HKQuantityTypeIdentifierHeartRate", 60 + i, "count/min", at) for i, at in enumerate(MINUTES[:4])
    )
    + files.record("HKQuantityTypeIdentifierHeartRate", 900, "count/min", "2025-01-01 09:00:00 -0500")
    + "".join(
        files.record("HKQuantityTypeIdentifierHeartRate", 70 + i, "count/min", at) for i, at in enumerate(MINUTES[4:])
    )
)


class WorkerDied(Exception):
    """Stands for a worker killed in the middle of a chunk: the chunk's transaction never commits."""


@pytest.fixture
def broker_down():
    """The broker unreachable until the test calls `.undo()` on what this answers."""

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    patch = pytest.MonkeyPatch()
    patch.setattr(tasks.run_import, "apply_async", unreachable)
    yield patch
    patch.undo()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(run, "CHUNK", 3)


def upload(client) -> dict:
    content = files.apple_export(BODY)
    response = client.post(
        URL, {"file": SimpleUploadedFile("export.xml", content), "format": "apple_health"}, format="multipart"
    )
    assert response.status_code == 202, response.json()
    return response.json()


def dying_at_chunk(number: int) -> pytest.MonkeyPatch:
    """The NUMBER-th chunk (1-based) raises in its transaction, after its readings were written; `.undo()` ends it."""
    store = run._store_records
    calls = {"n": 0}

    def dying(*args, **kwargs):
        store(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == number:
            raise WorkerDied

    patch = pytest.MonkeyPatch()
    patch.setattr(run, "_store_records", dying)
    return patch


def expected_heart_rates() -> list[float]:
    return [60.0, 61.0, 62.0, 63.0, 70.0, 71.0, 72.0]


class TestTheBrokerDownAtUpload:
    def test_the_upload_is_accepted_and_the_sweeper_imports_it_once(self, client_a, user_a, broker_down):
        accepted = upload(client_a)

        job = ImportJob.objects.get(pk=accepted["id"])
        assert (accepted["status"], job.status) == ("pending", ImportStatus.PENDING)
        assert not HealthMetric.objects.filter(user=user_a).exists()
        assert imports_requeue_stale() == 0  # younger than a lease: its task may still be on its way

        broker_down.undo()
        with freeze_time(job.created_at + run.LEASE + timedelta(seconds=1)):
            assert imports_requeue_stale() == 1

        body = client_a.get(URL + f"{job.pk}/").json()
        assert body["status"] == "completed", body
        assert (body["created_count"], body["duplicate_count"], body["skipped_count"]) == (7, 0, 1)
        stored = HealthMetric.objects.filter(user=user_a).order_by("recorded_at")
        assert list(stored.values_list("value", flat=True)) == expected_heart_rates()
        assert not upload_storage().exists(job.file_name)


class TestAWorkerDyingMidFile:
    def test_the_next_delivery_resumes_after_the_last_committed_chunk_and_counts_exactly(
        self, client_a, user_a, broker_down, small_chunks
    ):
        job = ImportJob.objects.get(pk=upload(client_a)["id"])
        death = dying_at_chunk(2)

        with pytest.raises(WorkerDied):
            run.import_run(job_id=job.pk)
        death.undo()

        job.refresh_from_db()
        assert (job.status, job.processed_count, job.created_count, job.attempts) == (ImportStatus.RUNNING, 3, 3, 1)
        assert HealthMetric.objects.filter(user=user_a).count() == 3  # the first chunk; the second rolled back
        assert upload_storage().exists(job.file_name)  # kept for the delivery that takes over

        broker_down.undo()
        run.import_run(job_id=job.pk)  # a redelivery while the lease is live steps aside
        assert ImportJob.objects.get(pk=job.pk).attempts == 1
        with freeze_time(job.lease_expires_at + timedelta(seconds=1)):
            assert imports_requeue_stale() == 1

        first_start = job.started_at
        job.refresh_from_db()
        assert (job.status, job.attempts, job.processed_count) == (ImportStatus.COMPLETED, 2, 8)
        assert job.started_at == first_start
        assert (job.created_count, job.duplicate_count, job.skipped_count) == (7, 0, 1)
        assert [(e["position"], e["code"]) for e in job.errors] == [(5, "invalid_record")]
        assert job.counts_by_type == {"heart_rate": 7}
        stored = HealthMetric.objects.filter(user=user_a).order_by("recorded_at")
        assert list(stored.values_list("value", flat=True)) == expected_heart_rates()
        assert (job.lease_token, job.lease_expires_at) == (None, None)
        assert not upload_storage().exists(job.file_name)


class TestADeliveryThatLostItsLease:
    def test_its_chunk_rolls_back_and_the_job_is_left_to_the_holder(self, client_a, user_a, broker_down):
        job = ImportJob.objects.get(pk=upload(client_a)["id"])
        holder = uuid.uuid4()
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, lease_token=holder)
        job.refresh_from_db()

        with pytest.raises(run._LeaseLost), run._opened(job) as stream:
            run._store(job, uuid.uuid4(), run._reader(job.format, stream))

        assert not HealthMetric.objects.filter(user=user_a).exists()
        job.refresh_from_db()
        assert (job.lease_token, job.processed_count, job.created_count) == (holder, 0, 0)


class TestThePoisonGuard:
    def test_a_job_whose_deliveries_keep_dying_fails_with_its_upload_deleted(self, client_a, user_a, broker_down):
        job = ImportJob.objects.get(pk=upload(client_a)["id"])
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.RUNNING,
            attempts=run.MAX_ATTEMPTS,
            lease_expires_at=job.created_at + run.LEASE,
            started_at=job.created_at,
        )

        with freeze_time(job.created_at + run.LEASE + timedelta(seconds=1)):
            run.import_run(job_id=job.pk)

        body = client_a.get(URL + f"{job.pk}/").json()
        assert body["status"] == "failed"
        assert body["error"] == f"Gave up after {run.MAX_ATTEMPTS} interrupted attempts."
        assert not HealthMetric.objects.filter(user=user_a).exists()
        assert not upload_storage().exists(job.file_name)

    def test_the_sweeper_leaves_running_imports_with_a_live_lease_and_finished_ones_alone(self, client_a, broker_down):
        running = ImportJob.objects.get(pk=upload(client_a)["id"])
        ImportJob.objects.filter(pk=running.pk).update(
            status=ImportStatus.RUNNING, lease_token=uuid.uuid4(), lease_expires_at=running.created_at + run.LEASE
        )
        done = ImportJob.objects.get(pk=upload(client_a)["id"])
        ImportJob.objects.filter(pk=done.pk).update(status=ImportStatus.COMPLETED)

        with freeze_time(running.created_at + run.LEASE - timedelta(seconds=1)):
            assert imports_requeue_stale() == 0

    def test_a_job_left_running_without_a_lease_is_taken_over_once_a_lease_period_has_passed(
        self, client_a, user_a, broker_down
    ):
        # Claimed by a worker of the release before leases, which then died.
        job = ImportJob.objects.get(pk=upload(client_a)["id"])
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=job.created_at)
        broker_down.undo()

        with freeze_time(job.created_at + run.LEASE - timedelta(seconds=1)):
            assert imports_requeue_stale() == 0
        with freeze_time(job.created_at + run.LEASE + timedelta(seconds=1)):
            assert imports_requeue_stale() == 1

        job.refresh_from_db()
        assert (job.status, job.created_count) == (ImportStatus.COMPLETED, 7)
        assert HealthMetric.objects.filter(user=user_a).count() == 7
