"""Celery: late acknowledgement with consistent time limits (SECURITY-CHECKLIST D1), every task's queue declared
once (CELERY_TASK_ROUTES) and consumed by the workers, and eager tasks that leave the caller's database connection
alone."""

import re
from pathlib import Path

import pytest
import yaml
from celery import shared_task
from django.conf import settings
from django.db import connection, transaction

from accounts.models import User
from accounts.tasks import send_email
from jeghealth_backend.celery import app


class TestLateAcknowledgement:
    def test_a_task_is_acknowledged_after_it_ran_and_requeued_when_its_worker_dies(self):
        assert app.conf.task_acks_late is True
        assert app.conf.task_reject_on_worker_lost is True

    def test_a_worker_reserves_one_message_at_a_time(self):
        assert app.conf.worker_prefetch_multiplier == 1

    def test_soft_limit_is_below_hard_limit_which_is_below_the_visibility_timeout(self):
        broker = app.conf.broker_transport_options["visibility_timeout"]
        results = app.conf.result_backend_transport_options["visibility_timeout"]

        assert app.conf.task_soft_time_limit < app.conf.task_time_limit < broker
        assert broker == results

    def test_the_broker_connection_is_retried_on_startup(self):
        assert app.conf.broker_connection_retry_on_startup is True

    def test_the_worker_uses_the_prefork_pool(self):
        makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
        worker = next(line for line in makefile.splitlines() if "celery -A jeghealth_backend worker" in line)

        assert "--pool=prefork" in worker
        assert not re.search(r"(-P|--pool)[ =](gevent|eventlet)", makefile)


class TestTransientFailures:
    def test_tasks_retry_with_capped_jittered_backoff(self):
        assert send_email.max_retries == 5
        assert send_email.retry_backoff and send_email.retry_jitter
        assert send_email.retry_backoff_max == 600
        assert OSError in send_email.autoretry_for

    def test_account_mail_goes_to_the_notifications_queue(self):
        assert _queue_of(send_email.name) == "notifications"


# The queue every task of the project is meant to go to; a new task must be added here (and thus routed) on purpose.
INTENDED_QUEUES = {
    "accounts.flush_expired_tokens": "default",
    "alerts.run_due": "notifications",
    "accounts.send_email": "notifications",
    "appointments.send_due_reminders": "notifications",
    "health_metrics.check_references": "default",
    "health_metrics.ensure_partitions": "default",
    "health_metrics.detect_anomalies": "default",
    "health_metrics.prune_tombstones": "default",
    "health_metrics.run_import": "default",
    "health_metrics.requeue_stale_imports": "default",
    "health_metrics.reconcile_rollups": "default",
    "health_metrics.refresh_rollups": "default",
    "health_metrics.sweep_anomaly_checks": "default",
    "health_metrics.sweep_rollups": "default",
    "iot_devices.check_offline": "default",
    "iot_devices.process_batch": "ingest",
    "iot_devices.requeue_stale_batches": "ingest",
    "iot_devices.warn_expiring_keys": "default",
    "medications.mark_missed_doses": "default",
    "medications.send_dose_reminders": "notifications",
    "notifications.check_push_receipts": "notifications",
    "notifications.deliver": "notifications",
    "notifications.dispatch_due": "notifications",
    "reports.generate": "reports",
    "reports.purge_expired": "reports",
    "reports.requeue_stale": "reports",
}


def _queue_of(task_name: str) -> str:
    """The queue a message for TASK_NAME goes to, decided as `.delay()` and beat decide it (no options given)."""
    return app.amqp.router.route({}, task_name)["queue"].name


def _project_tasks() -> dict:
    # What a worker registers at start: the autodiscovered tasks modules of every installed app.
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith(("celery.", "tests."))}


def _queues_option(command: str) -> set[str]:
    match = re.search(r"(?:--queues[= ]|-Q ?)(\S+)", command)
    assert match, f"no --queues in {command!r}"
    return set(match.group(1).split(","))


def _routed_queues() -> set[str]:
    routes = app.conf.task_routes or {}
    return {app.conf.task_default_queue} | {route["queue"] for route in routes.values()}


class TestRouting:
    def test_every_task_of_the_project_has_an_intended_queue(self):
        assert set(_project_tasks()) == set(INTENDED_QUEUES)

    @pytest.mark.parametrize(("task_name", "queue"), sorted(INTENDED_QUEUES.items()))
    def test_each_task_is_routed_to_its_queue(self, task_name, queue):
        assert _queue_of(task_name) == queue

    def test_no_task_declares_its_own_queue(self):
        # Celery 5.7 warns about `queue=` on a task (CDeprecationWarning) and 6.0 ignores it: routes only.
        declaring = [name for name, task in _project_tasks().items() if "queue" in type(task).__dict__]
        assert declaring == []

    def test_beat_entries_leave_the_queue_to_the_routes(self):
        with_queue = [
            name for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if "queue" in entry.get("options", {})
        ]
        assert with_queue == []
        assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(INTENDED_QUEUES)

    def test_make_worker_consumes_every_routed_queue(self):
        makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
        recipe = re.search(r"^worker:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        assert recipe, "no worker target in the Makefile"
        command = recipe.group(1).replace("\\\n", " ")
        assert _routed_queues() <= _queues_option(command)

    def test_the_compose_worker_consumes_every_routed_queue(self):
        compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
        command = compose["services"]["worker"]["command"]
        command = command if isinstance(command, str) else " ".join(command)
        assert _routed_queues() <= _queues_option(command)


@shared_task(name="tests.count_users")
def count_users() -> int:
    return User.objects.count()


@pytest.mark.django_db
class TestEagerTasks:
    def test_an_eager_task_inside_a_transaction_keeps_the_callers_connection(self):
        with transaction.atomic():
            User.objects.create_user(email="inside@example.org", password="x", username="inside")

            assert count_users.delay().get() >= 1
            assert connection.in_atomic_block
            assert User.objects.filter(email="inside@example.org").exists()


def test_a_database_that_went_away_is_a_transient_error_tasks_retry():
    from django.db import OperationalError

    from jeghealth_backend.celery import BaseTask

    assert OperationalError in BaseTask.autoretry_for
    assert BaseTask.retry_backoff and BaseTask.retry_jitter and BaseTask.max_retries == 5
