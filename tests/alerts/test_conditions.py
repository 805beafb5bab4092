"""The device and dose rules: a device that stopped sending or runs low, and doses left unlogged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from alerts.models import AlertEpisode
from iot_devices import services as device_services
from medications import tasks as medication_tasks
from medications.models import DoseLog
from notifications.models import Notification
from tests.iot_devices.factories import pair_device
from tests.medications.conftest import URL as MEDICATIONS
from tests.medications.conftest import create_regimen

pytestmark = pytest.mark.django_db

HEARTBEAT = "/api/v1/devices/me/heartbeat/"


def device_alerts(user):
    return Notification.objects.filter(recipient=user, category="device_alert")


class TestDevices:
    def test_a_low_battery_opens_one_episode_until_it_is_charged(self, user_a):
        watch = pair_device(user_a, name="Left wrist")
        for level in (18, 12, 9):
            assert watch.client().post(HEARTBEAT, {"battery_level": level}).status_code == 200

        episode = AlertEpisode.objects.get(user=user_a)
        assert (episode.rule, episode.subject_key, episode.subject_label) == (
            "device_low_battery",
            str(watch.device.pk),
            "Left wrist",
        )
        assert [n.title for n in device_alerts(user_a)] == ["Left wrist: battery low"]

        watch.client().post(HEARTBEAT, {"battery_level": 95})

        episode.refresh_from_db()
        assert (episode.status, episode.close_reason) == ("closed", "resolved")

    def test_a_silent_device_opens_an_offline_episode_closed_when_it_is_heard_from(self, user_a):
        start = timezone.now()
        watch = pair_device(user_a)
        with freeze_time(start):
            watch.client().post(HEARTBEAT, {"battery_level": 80})
        with freeze_time(start + timedelta(minutes=61)):
            assert device_services.devices_check_offline() == 1
            assert device_services.devices_check_offline() == 0

        episode = AlertEpisode.objects.get(rule="device_offline")
        assert episode.status == "open"
        [notice] = device_alerts(user_a)
        assert notice.title.endswith("stopped sending")
        assert notice.data["device_id"] == str(watch.device.pk)

        with freeze_time(start + timedelta(minutes=70)):
            watch.client().post(HEARTBEAT, {"battery_level": 80})

        episode.refresh_from_db()
        assert episode.status == "closed"
        assert device_alerts(user_a).count() == 1

    def test_the_owner_resolving_the_device_alert_closes_the_episode(self, client_a, user_a):
        watch = pair_device(user_a)
        watch.client().post(HEARTBEAT, {"battery_level": 10})
        alert = watch.device.alerts.get()

        assert client_a.post(f"/api/v1/devices/alerts/{alert.pk}/resolve/").status_code == 200

        assert AlertEpisode.objects.get().status == "closed"

    def test_removing_the_device_closes_its_episodes(self, client_a, user_a):
        watch = pair_device(user_a)
        watch.client().post(HEARTBEAT, {"battery_level": 10})

        assert client_a.delete(f"/api/v1/devices/{watch.device.pk}/").status_code == 204

        episode = AlertEpisode.objects.get()
        assert (episode.status, episode.close_reason) == ("closed", "device_removed")

    def test_a_device_error_is_told_by_the_device_app_not_an_episode(self, user_a):
        watch = pair_device(user_a, name="Cuff")

        watch.client().post(HEARTBEAT, {"status": "error"})

        assert not AlertEpisode.objects.exists()
        [notice] = device_alerts(user_a)
        assert (notice.title, notice.severity) == ("Cuff: error", "critical")


def at(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def missed_notices(user):
    return Notification.objects.filter(recipient=user, category="medication_reminder", data__kind="opened")


class TestMissedDoses:
    @pytest.fixture
    def twice_daily(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            return create_regimen(api(user_a), frequency="twice_daily", start_date="2025-03-05")

    def test_a_missed_dose_opens_an_episode_and_tells_the_person_once(self, user_a, twice_daily):
        with freeze_time("2025-03-05 10:30:00"):
            medication_tasks.mark_missed_doses.delay()
            medication_tasks.mark_missed_doses.delay()

        episode = AlertEpisode.objects.get(rule="missed_dose")
        assert (episode.subject_key, episode.severity, episode.reading_count) == (twice_daily["id"], "warning", 1)
        [notice] = missed_notices(user_a)
        assert notice.title == "Missed dose"
        assert "Lisinopril" not in notice.title + notice.body  # lock screens: no medication names
        assert notice.data["regimen"] == twice_daily["id"]

    def test_logging_a_dose_as_taken_closes_it(self, api, user_a, twice_daily):
        with freeze_time("2025-03-05 10:30:00"):
            medication_tasks.mark_missed_doses.delay()
        with freeze_time("2025-03-05 20:05:00"):
            r = api(user_a).post(
                f"{MEDICATIONS}{twice_daily['id']}/log/", {"scheduled_for": at(20).isoformat(), "status": "taken"}
            )
            assert r.status_code in (200, 201), r.content

        episode = AlertEpisode.objects.get(rule="missed_dose")
        assert (episode.status, episode.close_reason) == ("closed", "resolved")

    def test_misses_long_past_open_nothing(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            create_regimen(api(user_a), frequency="twice_daily", start_date="2025-03-05", end_date="2025-03-05")
        # The task was down for two days: those doses are recorded as missed, but they are history.
        with freeze_time("2025-03-07 23:00:00"):
            medication_tasks.mark_missed_doses.delay()

        assert DoseLog.objects.filter(status="missed").count() == 2
        assert not AlertEpisode.objects.exists()
