"""`POST {id}/log/`: recording a dose, what it does to the quantity left, and the refill reminder."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections
from freezegun import freeze_time

from medications import services
from medications.models import DoseLog, Regimen
from notifications.models import Notification
from tests.accounts.factories import UserFactory
from tests.medications.conftest import URL, create_regimen, regimen_body

DOSE_8AM = "2025-03-05T08:00:00+00:00"


def log(client, regimen_id, **body):
    return client.post(f"{URL}{regimen_id}/log/", {"scheduled_for": DOSE_8AM, "status": "taken", **body}, format="json")


def refill_notifications(user):
    return Notification.objects.filter(recipient=user, category="medication_reminder", data__type="refill")


@pytest.fixture
def morning(api, user_a):
    """A twice-daily regimen created before the day's first dose, and a client at 08:10 that day."""
    with freeze_time("2025-03-05 06:00:00"):
        regimen = create_regimen(api(user_a), frequency="twice_daily", quantity_remaining=30, quantity_per_dose=2)
    with freeze_time("2025-03-05 08:10:00"):
        yield api(user_a), regimen


@pytest.mark.django_db
class TestLog:
    def test_taken_is_stored_and_lowers_the_quantity(self, morning, user_a):
        client, regimen = morning
        r = log(client, regimen["id"])
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["status"] == "taken" and body["scheduled_for"] == DOSE_8AM
        assert body["taken_at"] == DOSE_8AM and body["quantity_remaining"] == 28
        stored = DoseLog.objects.get(pk=body["id"])
        assert stored.user == user_a and stored.status == "taken" and stored.scheduled
        assert stored.scheduled_for == datetime(2025, 3, 5, 8, tzinfo=UTC)
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 28

    def test_logging_the_same_dose_again_updates_it(self, morning):
        client, regimen = morning
        assert log(client, regimen["id"]).status_code == 201
        r = log(client, regimen["id"], taken_at="2025-03-05T08:02:00Z")
        assert r.status_code == 200 and r.json()["taken_at"] == "2025-03-05T08:02:00+00:00"
        assert DoseLog.objects.count() == 1
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 28

    def test_changing_taken_to_skipped_gives_the_dose_back(self, morning):
        client, regimen = morning
        log(client, regimen["id"])
        r = log(client, regimen["id"], status="skipped")
        assert r.status_code == 200 and r.json()["taken_at"] is None
        assert DoseLog.objects.get().status == "skipped"
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 30

    def test_skipped_leaves_the_quantity(self, morning):
        client, regimen = morning
        assert log(client, regimen["id"], status="skipped").status_code == 201
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 30

    def test_the_time_may_be_given_in_any_offset(self, morning):
        client, regimen = morning
        assert log(client, regimen["id"], scheduled_for="2025-03-05T03:00:00-05:00").status_code == 201
        assert DoseLog.objects.get().scheduled_for == datetime(2025, 3, 5, 8, tzinfo=UTC)

    def test_the_quantity_never_goes_below_zero(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), quantity_remaining=1, quantity_per_dose=2)
        with freeze_time("2025-03-05 08:10:00"):
            assert log(api(user_a), regimen["id"]).json()["quantity_remaining"] == 0
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 0

    def test_a_dose_missed_earlier_can_still_be_logged_late(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), quantity_remaining=10)
        with freeze_time("2025-03-05 10:30:00"):
            services.doses_mark_missed()
            assert DoseLog.objects.get().status == "missed"
            r = log(api(user_a), regimen["id"])
        assert r.status_code == 200 and DoseLog.objects.get().status == "taken"
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 9

    def test_as_needed_is_logged_at_any_time(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), frequency="as_needed", quantity_remaining=20)
        with freeze_time("2025-03-05 14:00:00"):
            r = log(api(user_a), regimen["id"], scheduled_for="2025-03-05T13:37:00Z")
        assert r.status_code == 201 and r.json()["as_needed"] is True
        stored = DoseLog.objects.get()
        assert not stored.scheduled and stored.taken_at == datetime(2025, 3, 5, 13, 37, tzinfo=UTC)
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 19


@pytest.mark.django_db
class TestLogRefused:
    def _refused(self, response, field):
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "validation_error" and field in error["fields"], error
        assert not DoseLog.objects.exists()

    def test_a_time_that_is_not_on_the_schedule(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], scheduled_for="2025-03-05T09:00:00Z"), "scheduled_for")

    def test_a_day_before_the_start_date(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], scheduled_for="2025-02-27T08:00:00Z"), "scheduled_for")

    def test_a_time_without_an_offset(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], scheduled_for="2025-03-05T08:00:00"), "scheduled_for")

    def test_missed_is_not_for_people_to_log(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], status="missed"), "status")

    def test_a_skipped_dose_has_no_taken_at(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], status="skipped", taken_at="2025-03-05T08:01:00Z"), "taken_at")

    def test_taken_in_the_future(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], taken_at="2025-03-05T09:00:00Z"), "taken_at")

    def test_more_than_a_day_ahead(self, morning):
        client, regimen = morning
        self._refused(log(client, regimen["id"], scheduled_for="2025-03-07T08:00:00Z"), "scheduled_for")

    def test_an_as_needed_dose_is_not_skipped(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), frequency="as_needed")
            self._refused(log(api(user_a), regimen["id"], status="skipped"), "status")

    def test_after_the_regimen_ended(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            client = api(user_a)
            regimen = create_regimen(client)
            client.delete(f"{URL}{regimen['id']}/")
            self._refused(log(client, regimen["id"], scheduled_for=DOSE_8AM), "scheduled_for")

    def test_returns_404_for_another_persons_regimen(self, api, user_b, morning):
        _, regimen = morning
        r = log(api(user_b), regimen["id"])
        assert r.status_code == 404 and not DoseLog.objects.exists()

    def test_anonymous_gets_401(self, anon, morning):
        _, regimen = morning
        assert log(anon, regimen["id"]).status_code == 401


@pytest.mark.django_db
class TestRefillReminder:
    def test_reminds_once_when_the_quantity_reaches_the_threshold(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), frequency="twice_daily", quantity_remaining=6, refill_threshold=5)
        with freeze_time("2025-03-05 20:10:00"):
            client = api(user_a)
            log(client, regimen["id"])
            [notification] = refill_notifications(user_a)
            log(client, regimen["id"], scheduled_for="2025-03-05T20:00:00Z")
        assert refill_notifications(user_a).count() == 1
        assert notification.data["regimen"] == regimen["id"] and "refill" in notification.title.lower()
        assert "Lisinopril" not in notification.title + notification.body
        assert Regimen.objects.get(pk=regimen["id"]).quantity_remaining == 4

    def test_rearms_when_the_quantity_goes_back_above(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            regimen = create_regimen(api(user_a), frequency="twice_daily", quantity_remaining=6, refill_threshold=5)
        with freeze_time("2025-03-05 08:10:00"):
            client = api(user_a)
            log(client, regimen["id"])
            assert Regimen.objects.get(pk=regimen["id"]).refill_reminded_at is not None
            client.patch(f"{URL}{regimen['id']}/", {"quantity_remaining": 6}, format="json")
            assert Regimen.objects.get(pk=regimen["id"]).refill_reminded_at is None
        with freeze_time("2025-03-05 20:10:00"):
            log(api(user_a), regimen["id"], scheduled_for="2025-03-05T20:00:00Z")
        assert refill_notifications(user_a).count() == 2

    def test_no_threshold_no_reminder(self, morning, user_a):
        client, regimen = morning
        log(client, regimen["id"])
        assert not refill_notifications(user_a).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_logs_each_lower_the_quantity():
    """Two doses logged at the same moment by two workers: both decrements land (F expressions, one UPDATE each)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL's row locks; SQLite serialises whole transactions")
    user = UserFactory()
    regimen = services.regimen_create(
        user=user,
        data=regimen_body(start_date=datetime(2025, 3, 1).date(), frequency="twice_daily", quantity_remaining=10),
    ).regimen
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def take(hour: int) -> None:
        try:
            barrier.wait(timeout=5)
            services.dose_log(
                regimen=regimen,
                scheduled_for=datetime(2025, 3, 2, hour, tzinfo=UTC),
                status="taken",
                now=datetime(2025, 3, 4, tzinfo=UTC),
            )
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(hour,)) for hour in (8, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Regimen.objects.get(pk=regimen.pk).quantity_remaining == Decimal(8)
    assert DoseLog.objects.filter(regimen=regimen, status="taken").count() == 2
