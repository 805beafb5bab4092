"""Generation through the task: claimed once, stored once, failures recorded; the sweeper and the purge."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from kombu.exceptions import OperationalError

from reports import services, storage, tasks
from reports.exceptions import ReportStorageUnavailable
from reports.models import Report

from .factories import ReportFactory, add_history

pytestmark = pytest.mark.django_db


def _files(media_root) -> list[str]:
    folder = media_root / "reports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def report(user_a):
    add_history(user_a, days=5, metric_types=("heart_rate",))
    return ReportFactory(user=user_a, format="csv")


class TestGenerateTask:
    def test_running_the_task_twice_stores_one_file(self, report, media_root):
        assert tasks.generate_report.delay(str(report.pk)).get() == "ready"
        assert tasks.generate_report.delay(str(report.pk)).get() == "skipped"
        report.refresh_from_db()
        assert report.status == "ready"
        assert report.attempts == 1
        assert _files(media_root) == [f"{report.pk}.csv"]

    def test_a_report_whose_worker_died_is_taken_over_and_still_has_one_file(self, report, media_root):
        services.report_generate(report_id=report.pk)
        # A worker claimed it again (the row says running) and died; its lease has run out.
        Report.objects.filter(pk=report.pk).update(
            status="running", lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert tasks.generate_report.delay(str(report.pk)).get() == "ready"
        report.refresh_from_db()
        assert (report.status, report.attempts) == ("ready", 2)
        assert _files(media_root) == [f"{report.pk}.csv"]

    def test_a_report_claimed_by_a_live_worker_is_left_alone(self, report, media_root):
        Report.objects.filter(pk=report.pk).update(
            status="running", lease_expires_at=timezone.now() + timedelta(minutes=5)
        )
        assert tasks.generate_report.delay(str(report.pk)).get() == "skipped"
        assert _files(media_root) == []

    def test_a_missing_report_is_a_no_op(self):
        assert tasks.generate_report.delay("00000000-0000-0000-0000-000000000000").get() == "skipped"

    def test_a_rendering_error_fails_the_report_and_records_it(self, report, media_root):
        with mock.patch("reports.formats.csv.csv_blocks", side_effect=ValueError("boom")):
            assert tasks.generate_report.delay(str(report.pk)).get() == "failed"
        report.refresh_from_db()
        assert report.status == "failed"
        assert report.error == "The report could not be generated (ValueError)."
        assert report.completed_at is not None
        assert _files(media_root) == []

    def test_a_storage_outage_puts_the_report_back_to_pending(self, report, media_root):
        with (
            mock.patch.object(default_storage, "save", side_effect=OSError("disk unavailable")),
            pytest.raises(ReportStorageUnavailable),
        ):
            services.report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert (report.status, report.claim_token) == ("pending", None)
        assert services.report_generate(report_id=report.pk) is services.Outcome.READY

    def test_a_report_whose_workers_keep_dying_is_failed_after_the_attempt_cap(self, report):
        Report.objects.filter(pk=report.pk).update(attempts=services.MAX_ATTEMPTS)
        assert services.report_generate(report_id=report.pk) is services.Outcome.FAILED
        report.refresh_from_db()
        assert report.status == "failed"
        assert "abandoned" in report.error


class TestRequestOutbox:
    def test_a_broker_outage_at_request_time_loses_nothing(self, user_a, django_capture_on_commit_callbacks):
        today = timezone.now().date()
        data = {"report_type": "health_summary", "format": "csv", "start_date": today, "end_date": today}
        with (
            mock.patch.object(tasks.generate_report, "delay", side_effect=OperationalError("broker down")),
            django_capture_on_commit_callbacks(execute=True),
        ):
            report = services.report_request(user=user_a, data=data)
        report.refresh_from_db()
        assert (report.status, report.enqueued_at) == ("pending", None)
        # The sweeper finds it a few minutes later and enqueues it again; the task runs (eagerly here).
        later = timezone.now() + services.STALE_AFTER + timedelta(seconds=1)
        assert services.reports_requeue_stale(now=later) == 1
        report.refresh_from_db()
        assert report.status == "ready"

    def test_the_sweeper_leaves_fresh_and_finished_reports_alone(self, user_a):
        ReportFactory(user=user_a)  # pending, just created
        ReportFactory(
            user=user_a, status="ready", file_name="reports/x.pdf", created_at=timezone.now() - timedelta(hours=1)
        )
        ReportFactory(user=user_a, status="failed", created_at=timezone.now() - timedelta(hours=1))
        with mock.patch.object(tasks.generate_report, "delay") as delay:
            assert services.reports_requeue_stale() == 0
        delay.assert_not_called()

    def test_the_sweeper_enqueues_running_reports_whose_lease_ran_out(self, user_a):
        stuck = ReportFactory(user=user_a, status="running", lease_expires_at=timezone.now() - timedelta(minutes=1))
        with mock.patch.object(tasks.generate_report, "delay") as delay:
            assert services.reports_requeue_stale() == 1
        delay.assert_called_once_with(str(stuck.pk))


class TestPurge:
    def test_expired_reports_are_deleted_with_their_files(self, report, user_a, media_root):
        services.report_generate(report_id=report.pk)
        kept = ReportFactory(user=user_a, format="csv")
        services.report_generate(report_id=kept.pk)
        later = report.expires_at + timedelta(seconds=1)
        Report.objects.filter(pk=kept.pk).update(expires_at=later + timedelta(days=1))
        assert tasks.purge_expired.delay().get() == 0  # nothing expired yet
        assert services.reports_purge_expired(now=later) == 1
        assert list(Report.objects.values_list("pk", flat=True)) == [kept.pk]
        assert _files(media_root) == [f"{kept.pk}.csv"]

    def test_files_whose_report_is_gone_are_deleted(self, report, media_root):
        services.report_generate(report_id=report.pk)
        report.user.delete()  # an erased account: its reports go with it, by cascade
        assert _files(media_root) == [f"{report.pk}.csv"]
        services.reports_purge_expired()
        assert _files(media_root) == []
        assert storage.stored_report_ids() == {}

    def test_the_retention_setting_decides_expiry(self, user_a, settings):
        settings.REPORT_RETENTION_DAYS = 2
        today = timezone.now().date()
        report = services.report_request(
            user=user_a, data={"report_type": "health_summary", "format": "pdf", "start_date": today, "end_date": today}
        )
        assert report.expires_at - report.created_at == timedelta(days=2)


class TestSchedule:
    def test_the_sweeper_and_the_purge_are_scheduled_on_the_reports_queue(self, settings):
        from jeghealth_backend.celery import app

        schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        for name in ("reports.requeue_stale", "reports.purge_expired", "reports.generate"):
            # Beat sends by name through the same routes (CELERY_TASK_ROUTES) as a `.delay()` does.
            assert app.amqp.router.route({}, name)["queue"].name == "reports"
        assert {"reports.requeue_stale", "reports.purge_expired"} <= set(schedule)
        # A pending report is enqueued again within STALE_AFTER plus one sweep interval.
        assert schedule["reports.requeue_stale"]["schedule"] <= timedelta(minutes=5)
