"""Readings have no foreign-key constraints: the services keep the guarantee, and a weekly check repairs."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from health_metrics.exceptions import OwnerGone
from health_metrics.models import HealthMetric
from health_metrics.storage import NewReadings, Origin, readings_insert
from health_metrics.tasks import check_references
from health_metrics.validation import clean_reading
from tests.accounts.factories import UserFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def one_reading(user_id) -> NewReadings:
    reading = clean_reading(
        {"metric_type": "heart_rate", "value": 70, "recorded_at": timezone.now()}, now=timezone.now()
    )
    return NewReadings([reading], Origin(user_id=user_id, created_at=timezone.now()), ["ok"], ids=[uuid.uuid4()])


@pytest.mark.django_db
class TestWeeklyCheck:
    def _orphan(self, user_id, device_id=None) -> uuid.UUID:
        reading_id = uuid.uuid4()
        HealthMetric.objects.bulk_create([HealthMetric(id=reading_id, user_id=user_id, device_id=device_id,
                                                       metric_type="heart_rate", value=70, unit="bpm",
                                                       recorded_at=timezone.now())])  # fmt: skip
        return reading_id

    def test_it_deletes_readings_of_a_person_who_is_gone_and_unlinks_missing_devices(self, user_a):
        gone = self._orphan(uuid.uuid4())
        unlinked = self._orphan(user_a.pk, device_id=uuid.uuid4())
        kept = self._orphan(user_a.pk)

        assert check_references() == [1, 1]

        assert not HealthMetric.objects.filter(pk=gone).exists()
        assert HealthMetric.objects.get(pk=unlinked).device_id is None
        assert HealthMetric.objects.filter(pk=kept).exists()
        assert check_references() == [0, 0]

    def test_an_insert_for_a_person_who_is_gone_stores_nothing(self):
        with pytest.raises(OwnerGone):
            readings_insert(one_reading(uuid.uuid4()))
        assert not HealthMetric.objects.exists()


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent connections and row locks; CI runs it")
@pytest.mark.django_db(transaction=True)
class TestDeletionRacingAnInsert:
    def test_an_erasure_waits_for_an_insert_in_flight_and_then_deletes_its_readings(self):
        from accounts.services import user_delete

        user = UserFactory(password="pw-for-erasure-1")
        inserted, go_on = threading.Event(), threading.Event()
        failures: list = []

        def insert_and_hold():
            try:
                with transaction.atomic():
                    readings_insert(one_reading(user.pk))
                    inserted.set()
                    go_on.wait(timeout=10)  # the erasure starts meanwhile, and must wait for this commit
            except Exception as exc:  # noqa: BLE001 - reported to the test
                failures.append(exc)
            finally:
                connection.close()

        writer = threading.Thread(target=insert_and_hold)
        writer.start()
        assert inserted.wait(timeout=10)
        eraser = threading.Thread(
            target=lambda: (user_delete(user=user, password="pw-for-erasure-1"), connection.close())
        )
        eraser.start()
        eraser.join(timeout=1)
        assert eraser.is_alive(), "the erasure should wait for the insert holding the person's row"
        go_on.set()
        writer.join(timeout=10)
        eraser.join(timeout=10)

        assert failures == []
        assert not HealthMetric.objects.filter(user_id=user.pk).exists()

    def test_an_insert_after_an_erasure_began_stores_nothing(self):
        user = UserFactory()
        locked, release = threading.Event(), threading.Event()

        def erase_slowly():
            with transaction.atomic():
                type(user).objects.select_for_update().get(pk=user.pk)
                locked.set()
                release.wait(timeout=10)
                type(user).objects.filter(pk=user.pk).delete()
            connection.close()

        eraser = threading.Thread(target=erase_slowly)
        eraser.start()
        assert locked.wait(timeout=10)
        threading.Timer(0.5, release.set).start()

        with pytest.raises(OwnerGone), transaction.atomic():
            readings_insert(one_reading(user.pk))
        eraser.join(timeout=10)
        assert not HealthMetric.objects.filter(user_id=user.pk).exists()
