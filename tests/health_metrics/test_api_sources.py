"""Sources of readings: `source_name`, `ended_at` and the sent offset on each reading; `source-priority/`; and
overlapping sources counted once in summaries, targets and the dashboard (health_metrics/arbitration.py)."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest

from health_metrics.arbitration import counted
from health_metrics.models import HealthMetric
from health_metrics.summaries import summary_buckets
from tests.health_metrics.conftest import BASE, set_timezone
from tests.health_metrics.factories import HealthMetricFactory
from tests.iot_devices.factories import pair_device

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 7, 20, 12, 0, tzinfo=UTC)


def steps(user, start: datetime, minutes: int, value: float, **source) -> HealthMetric:
    return HealthMetricFactory(
        user=user,
        metric_type="steps",
        value=value,
        recorded_at=start,
        ended_at=start + timedelta(minutes=minutes),
        **source,
    )


def imported(name: str) -> dict:
    return {"source": "import", "source_name": name, "is_manual_entry": False}


def from_device(device) -> dict:
    return {"source": "device", "device": device, "source_name": device.name, "is_manual_entry": False}


class TestReadingColumns:
    def test_it_keeps_the_offset_recorded_at_was_sent_with(self, client_a):
        response = client_a.post(
            BASE, {"metric_type": "heart_rate", "value": 61, "recorded_at": "2025-07-20T08:00:00+09:00"}, format="json"
        )

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["recorded_at"] == "2025-07-19T23:00:00Z"
        assert body["recorded_offset_minutes"] == 540
        assert body["source_name"] == "manual"
        assert HealthMetric.objects.get(pk=body["id"]).recorded_offset_minutes == 540

    def test_steps_take_an_interval(self, client_a):
        response = client_a.post(
            BASE,
            {
                "metric_type": "steps",
                "value": 800,
                "recorded_at": "2025-07-20T08:00:00-04:00",
                "ended_at": "2025-07-20T08:30:00-04:00",
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        assert response.json()["ended_at"] == "2025-07-20T12:30:00Z"
        assert response.json()["recorded_offset_minutes"] == -240

    @pytest.mark.parametrize(
        ("metric_type", "ended_at"),
        [("heart_rate", "2025-07-20T12:10:00Z"), ("steps", "2025-07-20T11:59:00Z"), ("steps", "2025-07-21T12:01:00Z")],
    )
    def test_an_interval_that_does_not_fit_is_refused(self, client_a, metric_type, ended_at):
        response = client_a.post(
            BASE,
            {"metric_type": metric_type, "value": 70, "recorded_at": "2025-07-20T12:00:00Z", "ended_at": ended_at},
            format="json",
        )

        assert response.status_code == 400
        assert "ended_at" in response.json()["error"]["fields"]
        assert not HealthMetric.objects.exists()

    def test_the_list_shows_each_readings_source(self, client_a, user_a):
        paired = pair_device(user_a, name="Ada's cuff")
        HealthMetricFactory(user=user_a, recorded_at=NOON, **from_device(paired.device))
        HealthMetricFactory(user=user_a, recorded_at=NOON - timedelta(hours=1), **imported("Ada's Apple Watch"))

        rows = client_a.get(BASE).json()["results"]

        assert [(r["source"], r["source_name"]) for r in rows] == [
            ("device", "Ada's cuff"),
            ("import", "Ada's Apple Watch"),
        ]


class TestSourcePriority:
    def test_the_default_puts_own_devices_then_manual_then_imports(self, client_a, user_a):
        paired = pair_device(user_a)
        steps(user_a, NOON, 10, 100, **imported("iPhone"))
        steps(user_a, NOON + timedelta(hours=1), 10, 100)
        steps(user_a, NOON + timedelta(hours=2), 10, 100, **from_device(paired.device))
        steps(user_a, NOON + timedelta(hours=3), 10, 100, **imported("Apple Watch"))

        body = client_a.get(BASE + "source-priority/").json()

        # Among imports the source that appeared most recently comes first.
        assert body == {"steps": [f"device:{paired.device.pk}", "manual", "import:Apple Watch", "import:iPhone"]}

    def test_a_put_stores_the_order_and_answers_it(self, client_a, user_a):
        steps(user_a, NOON, 10, 100, **imported("iPhone"))
        steps(user_a, NOON, 10, 100, **imported("Apple Watch"))

        response = client_a.put(
            BASE + "source-priority/", {"steps": ["import:iPhone", "import:Apple Watch"]}, format="json"
        )

        assert response.status_code == 200
        assert response.json() == {"steps": ["import:iPhone", "import:Apple Watch"]}
        assert client_a.get(BASE + "source-priority/").json() == response.json()

    @pytest.mark.parametrize(
        "body",
        [{"stepz": ["manual"]}, {"steps": ["phone"]}, {"steps": ["manual", "manual"]}, {"steps": "manual"}, {}],
    )
    def test_a_bad_order_is_refused(self, client_a, user_a, body):
        response = client_a.put(BASE + "source-priority/", body, format="json")

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"

    def test_it_needs_credentials(self, anon):
        assert anon.get(BASE + "source-priority/").status_code == 401


class TestOverlappingSourcesCountOnce:
    def test_the_summary_counts_the_best_source_where_two_overlap(self, client_a, user_a):
        paired = pair_device(user_a)
        # The watch and the phone both counted the same walk; the phone also counted a walk the watch missed.
        steps(user_a, NOON, 30, 3000, **from_device(paired.device))
        steps(user_a, NOON + timedelta(minutes=10), 30, 2500, **imported("iPhone"))
        steps(user_a, NOON + timedelta(hours=3), 30, 1000, **imported("iPhone"))

        bucket = client_a.get(
            BASE + "summary/", {"metric_type": "steps", "start_date": "2025-07-20", "end_date": "2025-07-20"}
        ).json()["buckets"][0]

        assert (bucket["count"], bucket["avg"] * bucket["count"]) == (2, 4000)

    def test_touching_intervals_do_not_overlap(self, client_a, user_a):
        steps(user_a, NOON, 10, 100, **imported("Apple Watch"))
        steps(user_a, NOON + timedelta(minutes=10), 10, 200, **imported("iPhone"))

        bucket = client_a.get(
            BASE + "summary/", {"metric_type": "steps", "start_date": "2025-07-20", "end_date": "2025-07-20"}
        ).json()["buckets"][0]

        assert bucket["count"] == 2

    def test_summaries_follow_a_changed_order(self, client_a, user_a):
        steps(user_a, NOON, 60, 5000, **imported("Apple Watch"))
        steps(user_a, NOON, 60, 4000, **imported("iPhone"))
        query = {"metric_type": "steps", "start_date": "2025-07-20", "end_date": "2025-07-20"}
        # The most recent import first by default: the iPhone.
        assert client_a.get(BASE + "summary/", query).json()["buckets"][0]["max"] == 4000

        client_a.put(BASE + "source-priority/", {"steps": ["import:Apple Watch"]}, format="json")

        assert client_a.get(BASE + "summary/", query).json()["buckets"][0]["max"] == 5000
        monthly = client_a.get(
            BASE + "summary/", {**query, "period": "monthly", "start_date": "2025-07-01", "end_date": "2025-07-31"}
        ).json()
        assert monthly["buckets"][0]["max"] == 5000

    def test_targets_and_the_dashboard_count_once(self, client_a, user_a):
        # The start of today (the person's calendar is UTC here): the dashboard's current period is today's,
        # whatever the hour the test runs at.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        steps(user_a, today, 60, 6000, **imported("Apple Watch"))
        steps(user_a, today + timedelta(minutes=5), 60, 5500, **imported("iPhone"))
        target = client_a.post(
            BASE + "targets/",
            {
                "metric_type": "steps",
                "target_type": "minimum",
                "target_value": 10000,
                "start_date": today.date().isoformat(),
            },
            format="json",
        ).json()

        progress = client_a.get(BASE + f"targets/{target['id']}/progress/").json()
        dashboard = client_a.get("/api/v1/dashboard/").json()

        assert progress["periods"][0]["value"] == 5500
        assert progress["periods"][0]["met"] is False
        assert dashboard["targets"][0]["current_period"]["value"] == 5500

    def test_instantaneous_readings_of_two_sources_at_one_instant_count_the_best(self, client_a, user_a):
        paired = pair_device(user_a)
        HealthMetricFactory(user=user_a, value=64, recorded_at=NOON, **from_device(paired.device))
        HealthMetricFactory(user=user_a, value=70, recorded_at=NOON, **imported("Apple Watch"))
        HealthMetricFactory(user=user_a, value=90, recorded_at=NOON + timedelta(minutes=1), **imported("Apple Watch"))

        bucket = client_a.get(
            BASE + "summary/", {"metric_type": "heart_rate", "start_date": "2025-07-20", "end_date": "2025-07-20"}
        ).json()["buckets"][0]

        assert (bucket["count"], bucket["min"], bucket["max"]) == (2, 64, 90)


class TestTheSameInstantFromTwoSources:
    def test_a_manual_entry_of_what_a_device_stored_a_minute_before_is_not_stored_again(self, client_a, user_a):
        paired = pair_device(user_a)
        stored = HealthMetricFactory(user=user_a, value=72, recorded_at=NOON, **from_device(paired.device))

        response = client_a.post(
            BASE, {"metric_type": "heart_rate", "value": 72, "recorded_at": "2025-07-20T12:00:45Z"}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["id"] == str(stored.pk)
        assert HealthMetric.objects.filter(user=user_a).count() == 1

    @pytest.mark.parametrize(("value", "seconds"), [(73, 30), (72, 61)])
    def test_another_value_or_a_later_time_is_stored(self, client_a, user_a, value, seconds):
        paired = pair_device(user_a)
        HealthMetricFactory(user=user_a, value=72, recorded_at=NOON, **from_device(paired.device))
        moment = (NOON + timedelta(seconds=seconds)).isoformat()

        response = client_a.post(
            BASE, {"metric_type": "heart_rate", "value": value, "recorded_at": moment}, format="json"
        )

        assert response.status_code == 201
        assert HealthMetric.objects.filter(user=user_a).count() == 2


def oracle(readings: list[HealthMetric], order: list[str], tz, period_of) -> dict[date, tuple[int, float]]:
    """The rule written plainly: a reading counts unless a better-ranked one overlaps it."""
    rank = {key: i for i, key in enumerate(order)}

    def key(r):
        return f"import:{r.source_name}"

    def overlaps(a, b):
        a_end, b_end = a.ended_at or a.recorded_at, b.ended_at or b.recorded_at
        return a.recorded_at == b.recorded_at or (a.recorded_at < b_end and b.recorded_at < a_end)

    buckets: dict[date, tuple[int, float]] = {}
    for r in readings:
        if any(rank[key(o)] < rank[key(r)] and overlaps(o, r) for o in readings):
            continue
        day = period_of(r.recorded_at.astimezone(tz).date())
        count, total = buckets.get(day, (0, 0.0))
        buckets[day] = (count + 1, total + r.value)
    return buckets


class TestArbitrationIsExact:
    @pytest.mark.parametrize("period", ["daily", "weekly", "monthly"])
    def test_on_random_overlapping_data_across_a_dst_change(self, client_a, user_a, period):
        # Clocks go back in Paris on 26 October 2025: one day has 25 hours.
        set_timezone(user_a, "Europe/Paris")
        tz = zoneinfo.ZoneInfo("Europe/Paris")
        rng = random.Random(f"arbitration-{period}")
        first = datetime(2025, 10, 10, tzinfo=UTC)
        names = ["Apple Watch", "iPhone", "Oura"]
        for _ in range(300):
            start = first + timedelta(minutes=rng.randrange(30 * 24 * 60))
            steps(
                user_a,
                start,
                rng.choice([1, 5, 20, 90, 600]),
                float(rng.randrange(1, 2000)),
                **imported(rng.choice(names)),
            )
        for midnight in (datetime(2025, 10, 25, 22, tzinfo=UTC), datetime(2025, 10, 26, 23, tzinfo=UTC)):
            steps(user_a, midnight - timedelta(minutes=20), 40, 500.0, **imported("Oura"))
            steps(user_a, midnight - timedelta(seconds=1), 1, 7.0, **imported("iPhone"))
        order = ["import:iPhone", "import:Oura", "import:Apple Watch"]
        client_a.put(BASE + "source-priority/", {"steps": order}, format="json")
        period_start = {
            "daily": lambda d: d,
            "weekly": lambda d: d - timedelta(days=d.weekday()),
            "monthly": lambda d: d.replace(day=1),
        }[period]

        expected = oracle(list(HealthMetric.objects.filter(user=user_a)), order, tz, period_start)
        body = client_a.get(
            BASE + "summary/",
            {"metric_type": "steps", "period": period, "start_date": "2025-10-01", "end_date": "2025-11-30"},
        ).json()
        direct = summary_buckets(
            user_id=user_a.pk,
            metric_type="steps",
            period=period,
            tz=tz,
            start_date=date(2025, 10, 1),
            end_date=date(2025, 11, 30),
            use_rollups=False,
        )

        answered = {date.fromisoformat(b["period_start"]): (b["count"], b["avg"] * b["count"]) for b in body["buckets"]}
        assert set(answered) == set(expected)
        for day, (count, total) in expected.items():
            assert answered[day][0] == count, day
            assert answered[day][1] == pytest.approx(total, abs=0.05 * count), day
            assert (direct[day]["count"], direct[day]["sum"]) == (count, pytest.approx(total)), day

    def test_counted_leaves_a_single_source_alone(self, user_a):
        steps(user_a, NOON, 30, 100)
        steps(user_a, NOON, 30, 100)
        readings = HealthMetric.objects.filter(user=user_a)

        assert counted(readings, user_id=user_a.pk, metric_types=["steps"]) is readings
