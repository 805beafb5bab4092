"""Summary rollups: kept equal to a direct aggregate of the readings, across DST changes, moves and lost tasks."""

from __future__ import annotations

import io
import random
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command

from health_metrics.models import HealthMetricSummary, PendingRollup
from health_metrics.summaries import (
    aggregate_buckets,
    rollups_reconcile,
    rollups_refresh,
    rollups_sweep,
    summary_buckets,
)
from tests.health_metrics.conftest import BASE, set_timezone
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

PERIODS = ("daily", "weekly", "monthly")


def random_readings(rng: random.Random, metric_type: str, first: datetime, days: int, count: int) -> list[dict]:
    items = []
    for _ in range(count):
        moment = first + timedelta(seconds=rng.randrange(days * 86400))
        item = {"metric_type": metric_type, "recorded_at": moment.isoformat()}
        if metric_type == "blood_pressure":
            diastolic = rng.uniform(60, 100)
            item.update(systolic_value=round(diastolic + rng.uniform(20, 60), 1), diastolic_value=round(diastolic, 1))
        else:
            item["value"] = round(rng.uniform(45, 120), 1)
        items.append(item)
    return items


def rollup_rows(user, metric_type: str, period: str) -> dict[date, dict]:
    rows = HealthMetricSummary.objects.filter(user=user, metric_type=metric_type, period=period).values()
    return {row["period_start"]: row for row in rows}


def assert_rollups_equal_direct(user, metric_type: str, tz_name: str, first_day: date, end_day: date) -> None:
    tz = zoneinfo.ZoneInfo(tz_name)
    for period in PERIODS:
        direct = aggregate_buckets(
            user_id=user.pk, metric_type=metric_type, period=period, tz=tz, first_day=first_day, end_day=end_day
        )
        rollups = rollup_rows(user, metric_type, period)
        assert set(rollups) == set(direct), period
        for day, expected in direct.items():
            assert rollups[day]["tz_name"] == tz_name
            for column, value in expected.items():
                assert rollups[day][column] == pytest.approx(value), (period, day, column)


class TestRollupsEqualDirectAggregates:
    @pytest.mark.parametrize(
        ("tz_name", "first"),
        [
            # Clocks go back on 26 October 2025 in Paris, forward on 9 March 2025 in New York.
            ("Europe/Paris", datetime(2025, 10, 1, tzinfo=UTC)),
            ("America/New_York", datetime(2025, 2, 20, tzinfo=UTC)),
        ],
    )
    @pytest.mark.parametrize("metric_type", ["heart_rate", "blood_pressure"])
    def test_on_random_data_across_a_dst_change(self, client_a, user_a, tz_name, first, metric_type):
        set_timezone(user_a, tz_name)
        rng = random.Random(f"{tz_name}-{metric_type}")
        items = random_readings(rng, metric_type, first, days=50, count=400)
        # Readings right at local midnights either side of the change, where an off-by-an-hour bucket shows.
        for day in range(-3, 4):
            midnight = datetime.combine(
                date(2025, 10, 26) if first.month == 10 else date(2025, 3, 9), datetime.min.time()
            )
            local = (midnight + timedelta(days=day)).replace(tzinfo=zoneinfo.ZoneInfo(tz_name))
            for offset in (timedelta(0), -timedelta(seconds=1)):
                items.append({**items[0], "recorded_at": (local + offset).isoformat()})
        for start in range(0, len(items), 200):
            assert (
                client_a.post(BASE + "bulk/", {"metrics": items[start : start + 200]}, format="json").status_code == 201
            )

        assert not PendingRollup.objects.exists()
        assert_rollups_equal_direct(user_a, metric_type, tz_name, date(2025, 1, 1), date(2026, 1, 1))

        # The endpoint, reading rollups, answers what aggregating every reading answers.
        tz = zoneinfo.ZoneInfo(tz_name)
        for period in PERIODS:
            start_date, end_date = first.date() + timedelta(days=3), first.date() + timedelta(days=45)
            body = client_a.get(
                BASE + "summary/",
                {"metric_type": metric_type, "period": period, "start_date": start_date, "end_date": end_date},
            ).json()
            direct = summary_buckets(
                user_id=user_a.pk,
                metric_type=metric_type,
                period=period,
                tz=tz,
                start_date=start_date,
                end_date=end_date,
                use_rollups=False,
            )
            assert [b["period_start"] for b in body["buckets"]] == [d.isoformat() for d in direct]
            assert [b["count"] for b in body["buckets"]] == [row["count"] for row in direct.values()]

    def test_a_deleted_reading_leaves_its_buckets(self, client_a, user_a):
        created = client_a.post(
            BASE, {"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-07-01T08:00:00Z"}, format="json"
        ).json()
        assert rollup_rows(user_a, "heart_rate", "daily")[date(2025, 7, 1)]["count"] == 1
        client_a.delete(f"{BASE}{created['id']}/")
        assert not HealthMetricSummary.objects.filter(user=user_a).exists()

    def test_a_refresh_run_twice_gives_the_same_rows(self, user_a):
        for hour in range(5):
            HealthMetricFactory(user=user_a, value=60 + hour, recorded_at=datetime(2025, 7, 1, hour, tzinfo=UTC))
        span = {"user_id": user_a.pk, "metric_type": "heart_rate", "start": datetime(2025, 7, 1, tzinfo=UTC)}
        rollups_refresh(**span, end=datetime(2025, 7, 1, 4, tzinfo=UTC))
        first = rollup_rows(user_a, "heart_rate", "weekly")
        rollups_refresh(**span, end=datetime(2025, 7, 1, 4, tzinfo=UTC))
        again = rollup_rows(user_a, "heart_rate", "weekly")
        assert [(r["count"], r["sum"]) for r in first.values()] == [(r["count"], r["sum"]) for r in again.values()]
        assert again[date(2025, 6, 30)]["count"] == 5


class TestSummaryTrust:
    def make_rollups(self, client, user):
        client.post(
            BASE, {"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-07-01T08:00:00Z"}, format="json"
        )
        return HealthMetricSummary.objects.get(user=user, metric_type="heart_rate", period="daily")

    def get_count(self, client) -> int:
        cache.clear()
        body = client.get(
            BASE + "summary/", {"metric_type": "heart_rate", "start_date": "2025-07-01", "end_date": "2025-07-01"}
        ).json()
        return body["buckets"][0]["count"]

    def test_the_summary_reads_rollups(self, client_a, user_a):
        rollup = self.make_rollups(client_a, user_a)
        HealthMetricSummary.objects.filter(pk=rollup.pk).update(count=42)
        assert self.get_count(client_a) == 42

    def test_a_pending_refresh_makes_the_summary_aggregate_readings(self, client_a, user_a):
        rollup = self.make_rollups(client_a, user_a)
        HealthMetricSummary.objects.filter(pk=rollup.pk).update(count=42)
        PendingRollup.objects.create(
            user=user_a,
            metric_type="heart_rate",
            start=datetime(2025, 7, 1, 8, tzinfo=UTC),
            end=datetime(2025, 7, 1, 8, tzinfo=UTC),
        )
        assert self.get_count(client_a) == 1

    def test_rollups_of_another_timezone_are_not_trusted_until_reconciled(self, client_a, user_a):
        # 23:30 UTC on 1 July is 2 July in Tokyo.
        client_a.post(
            BASE, {"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-07-01T23:30:00Z"}, format="json"
        )
        set_timezone(user_a, "Asia/Tokyo")
        body = client_a.get(
            BASE + "summary/", {"metric_type": "heart_rate", "start_date": "2025-07-01", "end_date": "2025-07-02"}
        ).json()
        assert [b["period_start"] for b in body["buckets"]] == ["2025-07-02"]

        rollups_reconcile(now=datetime(2025, 7, 10, tzinfo=UTC))

        assert set(HealthMetricSummary.objects.filter(user=user_a).values_list("tz_name", flat=True)) == {"Asia/Tokyo"}
        assert_rollups_equal_direct(user_a, "heart_rate", "Asia/Tokyo", date(2025, 6, 1), date(2025, 8, 1))


class TestLostRefreshes:
    def test_the_sweep_refreshes_pending_ranges_whose_task_never_ran(self, user_a):
        # Factories announce their readings but, outside a captured commit, no task runs: as if it were lost.
        HealthMetricFactory(user=user_a, value=70, recorded_at=datetime(2025, 7, 1, 8, tzinfo=UTC))
        assert PendingRollup.objects.count() == 1

        assert rollups_sweep(now=datetime.now(UTC)) == 0  # too recent: its task may still be on its way
        assert rollups_sweep(now=datetime.now(UTC) + timedelta(minutes=6)) == 1

        assert not PendingRollup.objects.exists()
        assert rollup_rows(user_a, "heart_rate", "monthly")[date(2025, 7, 1)]["count"] == 1

    def test_the_nightly_reconciliation_recomputes_recent_days(self, user_a):
        now = datetime.now(UTC)
        HealthMetricFactory(user=user_a, value=70, recorded_at=now - timedelta(hours=3))
        PendingRollup.objects.all().delete()  # a reading stored without announcing it

        assert rollups_reconcile(now=now) >= 1
        assert HealthMetricSummary.objects.filter(user=user_a, period="daily").get().count == 1


class TestRebuildCommand:
    def test_it_rebuilds_rollups_of_readings_stored_without_announcing_them(self, user_a, user_b):
        for person in (user_a, user_b):
            HealthMetricFactory(user=person, value=70, recorded_at=datetime(2025, 7, 1, 8, tzinfo=UTC))
        PendingRollup.objects.all().delete()
        HealthMetricSummary.objects.create(
            user=user_a, metric_type="weight", period="daily", period_start=date(2025, 1, 1), tz_name="UTC", count=9
        )
        out = io.StringIO()

        call_command("rebuild_metric_rollups", stdout=out)

        assert "2 people" in out.getvalue()
        assert not HealthMetricSummary.objects.filter(metric_type="weight").exists()
        for person in (user_a, user_b):
            assert_rollups_equal_direct(person, "heart_rate", "UTC", date(2025, 6, 1), date(2025, 8, 1))
