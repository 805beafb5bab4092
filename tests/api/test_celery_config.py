"""Celery: late acknowledgement with consistent time limits (SECURITY-CHECKLIST D1), and eager tasks that leave
the caller's database connection alone."""

import re
from pathlib import Path

import pytest
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
        assert send_email.queue == "notifications"


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
