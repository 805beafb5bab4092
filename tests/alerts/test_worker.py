"""A critical alert through the real stack: the API, a Celery worker and beat as processes, Redis, PostgreSQL, and
local servers for Expo's push API, SMTP and the SMS provider.

A critical reading is pushed to the person at once; unacknowledged, it is escalated after ALERT_ESCALATION_MINUTES
(shortened here to seconds) to the caregiver, to the contact with an e-mail (SMTP) and to the contact with only a
phone (SMS), exactly once; an acknowledgement stops the reminders. A worker killed while the escalation is due
still sends it exactly once after a new worker starts. The Redis is this module's own (tests/servers.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from alerts.models import AlertEpisode
from jeghealth_backend.celery import app as celery_app
from notifications.models import Notification
from tests.accounts.factories import UserFactory
from tests.accounts.test_caregiver_matrix import grant_in_state
from tests.conftest import client_for
from tests.notifications.factories import EmergencyContactFactory, PushTokenFactory
from tests.notifications.fakes import (
    FakeExpo,
    FakeSMS,
    FakeSMTP,
    ThreadingTCPServer,
    expo_handler,
    sms_handler,
    smtp_handler,
)
from tests.servers import REDIS_SERVER, RedisServer

BASE_DIR = Path(django_settings.BASE_DIR)
ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Seconds, through the settings' minutes: reminders every 4 s, the escalation after 6 s, beat every second.
TIMING = {"ALERT_REPEAT_MINUTES": "0.0667", "ALERT_ESCALATION_MINUTES": "0.1", "ALERT_DUE_INTERVAL_SECONDS": "1"}

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="a worker process cannot share an SQLite test database; CI runs it"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (CI installs it)"),
    pytest.mark.django_db(transaction=True),
]


def _serve(server) -> None:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


class Stack:
    """This test's Redis, local Expo, SMTP and SMS servers, and the worker and beat processes it starts."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.redis = RedisServer()
        self.redis.start()
        self.expo, self.smtp, self.sms = FakeExpo(), FakeSMTP(), FakeSMS()
        self.servers = [
            ThreadingHTTPServer(("127.0.0.1", 0), expo_handler(self.expo)),
            ThreadingTCPServer(("127.0.0.1", 0), smtp_handler(self.smtp)),
            ThreadingHTTPServer(("127.0.0.1", 0), sms_handler(self.sms)),
        ]
        for server in self.servers:
            server.daemon_threads = True
            _serve(server)
        self.processes: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        credentials = quote(db["USER"] or "", safe="") + (
            ":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else ""
        )
        expo_port, smtp_port, sms_port = (server.server_address[1] for server in self.servers)
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "CELERY_", "CACHE_"))},
            "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": self.redis.url(),
            "EXPO_PUSH_URL": f"http://127.0.0.1:{expo_port}/--/api/v2/push/send",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SMS_API_URL": f"http://127.0.0.1:{sms_port}/2010-04-01/Accounts/ACtest/Messages.json",
            "SMS_API_TOKEN": "ACtest:secret",
            "SMS_FROM": "+15005550006",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.tmp / "celerybeat"),
            "CONN_MAX_AGE": "0",
            "LOG_LEVEL": "INFO",
            **TIMING,
        }

    def start(self, *args: str, name: str) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [str(BASE_DIR / ".venv/bin/celery"), "-A", "jeghealth_backend", *args],
            cwd=BASE_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole
        )
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen:
        return self.start(
            "worker",
            "-Q",
            "default,notifications,ingest",
            "--pool=prefork",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            name="worker",
        )

    def beat(self) -> subprocess.Popen:
        return self.start("beat", "--loglevel=INFO", name="beat")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-2500:] for path in sorted(self.tmp.glob("*.log")))

    def close(self) -> None:
        for process in self.processes:
            self.kill(process)
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.redis.close()


@pytest.fixture
def stack(tmp_path, settings):
    stack = Stack(tmp_path)
    # This process publishes to the stack's Redis instead of running tasks in line.
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options, conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = stack.redis.url(), {}, False
    yield stack
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
    stack.close()


@pytest.fixture
def person():
    """A patient with a phone, a push token, a caregiver with an `alerts` grant, and two emergency contacts."""
    patient = UserFactory(phone_number="+15550001111")
    token = PushTokenFactory(user=patient)
    caregiver = UserFactory()
    grant_in_state("accepted", patient=patient, caregiver=caregiver, scopes=["alerts"])
    by_mail = EmergencyContactFactory(user=patient, notify_on_critical=True)
    by_phone = EmergencyContactFactory(user=patient, notify_on_critical=True, email="", phone_number="+15550002222")
    return patient, token, caregiver, by_mail, by_phone


def wait_for(predicate, stack: Stack, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s:\n{stack.logs()}")


def post_critical_reading(patient) -> None:
    reading = {"metric_type": "heart_rate", "value": 36, "recorded_at": timezone.now().isoformat()}
    response = client_for(patient).post("/api/v1/health-metrics/", reading, format="json")
    assert response.status_code == 201, response.content


def mails_to(stack: Stack, address: str) -> list[dict]:
    return [m for m in stack.smtp.messages if address in m["to"]]


def sms_to(stack: Stack, number: str) -> list[dict]:
    return [r for r in stack.sms.delivered if r["form"].get("To") == number]


class TestEscalationThroughTheStack:
    def test_pushed_at_once_escalated_once_and_acknowledged(self, stack, person):
        patient, token, caregiver, by_mail, by_phone = person
        stack.worker()
        stack.beat()

        post_critical_reading(patient)

        wait_for(
            lambda: [m for m in stack.expo.messages if m["to"] == token.token],
            stack,
            timeout=60,
            what="the push of the critical alert",
        )
        wait_for(
            lambda: mails_to(stack, by_mail.email) and sms_to(stack, by_phone.phone_number),
            stack,
            timeout=60,
            what="the escalation to the contacts",
        )
        episode = AlertEpisode.objects.get(user=patient)
        assert episode.escalated_at is not None

        acknowledged = client_for(patient).post(f"/api/v1/alerts/{episode.pk}/acknowledge/")
        assert acknowledged.status_code == 200
        acknowledged_at = timezone.now()
        time.sleep(6)  # longer than the reminder interval, several beat runs

        assert len(mails_to(stack, by_mail.email)) == 1
        assert len(sms_to(stack, by_phone.phone_number)) == 1
        assert "urgent reading" in sms_to(stack, by_phone.phone_number)[0]["form"]["Body"]
        assert Notification.objects.filter(recipient=caregiver, data__kind="escalation").count() == 1
        reminders = Notification.objects.filter(recipient=patient, data__kind="reminder")
        assert not reminders.filter(created_at__gt=acknowledged_at).exists(), "a reminder after the acknowledgement"


class TestAWorkerKilledWhileTheEscalationIsDue:
    def test_a_new_worker_sends_it_exactly_once(self, stack, person):
        patient, token, caregiver, by_mail, by_phone = person
        worker = stack.worker()
        stack.beat()

        post_critical_reading(patient)
        wait_for(
            lambda: [m for m in stack.expo.messages if m["to"] == token.token],
            stack,
            timeout=60,
            what="the push of the critical alert",
        )
        episode = AlertEpisode.objects.get(user=patient)
        due = episode.critical_since.timestamp() + 6
        time.sleep(max(0.0, due - time.time() - 0.5))
        stack.kill(worker)  # half a second before the escalation is due; beat goes on enqueueing `alerts.run_due`
        time.sleep(3)
        assert not mails_to(stack, by_mail.email)

        stack.worker()

        wait_for(
            lambda: mails_to(stack, by_mail.email) and sms_to(stack, by_phone.phone_number),
            stack,
            timeout=60,
            what="the escalation after the restart",
        )
        time.sleep(4)  # the queued runs of the dead worker's time are all processed meanwhile
        assert len(mails_to(stack, by_mail.email)) == 1
        assert len(sms_to(stack, by_phone.phone_number)) == 1
        assert Notification.objects.filter(recipient=caregiver, data__kind="escalation").count() == 1
        assert Notification.objects.filter(recipient=patient, data__kind="escalation").count() == 1
