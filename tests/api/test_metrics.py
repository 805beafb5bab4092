"""GET /metrics (jeghealth_backend.metrics): off by default, only for METRICS_ALLOWED_IPS, request latency by
route, Celery task latency and failures by task, the device batch backlog and notification deliveries by channel
and outcome; in multiprocess mode the figures of every process add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families

from iot_devices.tasks import check_offline
from jeghealth_backend.celery import app as celery_app
from jeghealth_backend.metrics import tasks as task_metrics
from jeghealth_backend.metrics.middleware import route_label
from notifications.services import notify
from tests.iot_devices.factories import pair_device, reading

URL = "/metrics"

pytestmark = pytest.mark.django_db


@celery_app.task(name="tests.metrics_explode")
def explode() -> None:
    raise ValueError("a permanent failure")


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.20.0.0/16"]
    task_metrics.connect()  # what setup() does at start when METRICS_ENABLED is on (idempotent)


def scrape(client, address: str = "127.0.0.1") -> dict[tuple[str, tuple], float]:
    r = client.get(URL, REMOTE_ADDR=address)
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class TestAccess:
    def test_is_a_404_while_metrics_are_off(self, anon):
        assert anon.get(URL, REMOTE_ADDR="127.0.0.1").status_code == 404

    def test_answers_an_allowed_address(self, anon, metrics_on):
        assert anon.get(URL, REMOTE_ADDR="127.0.0.1").status_code == 200

    def test_answers_an_address_of_an_allowed_network(self, anon, metrics_on):
        assert anon.get(URL, REMOTE_ADDR="10.20.3.4").status_code == 200

    def test_is_a_404_for_any_other_address(self, anon, metrics_on):
        assert anon.get(URL, REMOTE_ADDR="10.21.0.1").status_code == 404

    def test_a_forwarded_header_does_not_make_an_address_allowed(self, anon, metrics_on):
        r = anon.get(URL, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")

        assert r.status_code == 404


class TestRequestLatency:
    def test_is_labelled_by_the_url_pattern_never_the_path_with_its_id(self, client_a, user_a, metrics_on):
        device = pair_device(user_a).device
        client_a.get(f"/api/v1/devices/{device.pk}/", REMOTE_ADDR="127.0.0.1")

        samples = scrape(client_a)

        routes = {dict(labels).get("route") for name, labels in samples if name.startswith("jeghealth_http_request")}
        assert "api/v1/devices/<pk>/" in routes
        assert not any(str(device.pk) in (route or "") for route in routes)
        count = value(
            samples,
            "jeghealth_http_request_duration_seconds_count",
            method="GET",
            route="api/v1/devices/<pk>/",
            status="200",
        )
        assert count >= 1

    def test_an_unknown_path_is_one_series(self, anon, metrics_on):
        anon.get(f"/api/v1/no-such-thing/{uuid.uuid4()}/")

        samples = scrape(anon)

        count = value(
            samples, "jeghealth_http_request_duration_seconds_count", method="GET", route="<unmatched>", status="404"
        )
        assert count >= 1

    def test_regex_routes_read_as_their_parameter_names(self):
        assert route_label(r"api/v1/^(?P<device_pk>[^/.]+)/batches/$") == "api/v1/<device_pk>/batches/"


class TestCeleryTasks:
    def test_latency_is_counted_by_task_name(self, anon, metrics_on):
        before = value(scrape(anon), "jeghealth_celery_task_duration_seconds_count", task="iot_devices.check_offline")

        check_offline.delay()

        after = value(scrape(anon), "jeghealth_celery_task_duration_seconds_count", task="iot_devices.check_offline")
        assert after == before + 1

    def test_failures_are_counted_by_task_name(self, anon, metrics_on):
        # A propagating eager task raises before Celery signals its failure; a worker's never propagates.
        propagates = celery_app.conf.task_eager_propagates
        celery_app.conf.task_eager_propagates = False
        try:
            assert explode.delay().failed()
        finally:
            celery_app.conf.task_eager_propagates = propagates

        assert value(scrape(anon), "jeghealth_celery_task_failures_total", task="tests.metrics_explode") >= 1


class TestDatabaseFigures:
    def test_the_batch_backlog_counts_batches_not_final_yet(self, anon, user_a, metrics_on):
        watch = pair_device(user_a)
        for _ in range(2):  # stored, not processed: the on-commit enqueue never runs inside the test transaction
            body = {"batch_id": str(uuid.uuid4()), "readings": [reading()]}
            assert watch.client().post("/api/v1/devices/me/batches/", body, format="json").status_code == 202

        samples = scrape(anon)

        assert value(samples, "jeghealth_device_batches_backlog", status="received") == 2
        assert value(samples, "jeghealth_device_batches_backlog", status="processing") == 0
        assert value(samples, "jeghealth_device_batches_backlog_oldest_seconds") >= 0

    def test_deliveries_are_counted_by_channel_and_outcome(self, anon, user_a, metrics_on):
        notify(user=user_a, category="system", title="Hello", body="Welcome")

        samples = scrape(anon)

        assert value(samples, "jeghealth_notification_deliveries", channel="in_app", status="sent") == 1
        statuses = {dict(labels)["status"] for name, labels in samples if name == "jeghealth_notification_deliveries"}
        assert statuses <= {"pending", "sending", "sent", "failed", "skipped"}


BUMP = """
import django, json, os, sys, time
django.setup()
from jeghealth_backend.metrics.instruments import TASK_FAILURES
TASK_FAILURES.labels("tests.bump").inc()
print(json.dumps(sorted(os.listdir(os.environ["METRICS_DIR"]))), flush=True)
time.sleep(float(sys.argv[1]))
"""
READ = """
import django, json
django.setup()
from jeghealth_backend.metrics import multiprocess
samples = {s.name: s.value for f in multiprocess.collector_registry().collect() for s in f.samples
           if s.labels.get("task") == "tests.bump"}
print(json.dumps(samples))
"""


class TestMultiprocess:
    @pytest.fixture
    def folder(self, tmp_path) -> Path:
        return tmp_path / "metrics"

    def run(self, folder: Path, code: str, *args: str, wait: bool = True):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
            "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base",
            "METRICS_ENABLED": "1",
            "METRICS_DIR": str(folder),
        }
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        if not wait:
            return process
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        return json.loads(output.splitlines()[-1])

    def test_the_figures_of_processes_running_at_once_add_up(self, folder):
        first = self.run(folder, BUMP, "3", wait=False)
        first.stdout.readline()  # it has counted and holds its slot
        self.run(folder, BUMP, "0")
        first.communicate(timeout=60)

        assert self.run(folder, READ) == {"jeghealth_celery_task_failures_total": 2.0}

    def test_a_new_process_carries_on_a_dead_one_s_files_instead_of_adding_its_own(self, folder):
        for _ in range(3):
            self.run(folder, BUMP, "0")

        assert self.run(folder, READ) == {"jeghealth_celery_task_failures_total": 3.0}
        assert sorted(p.name for p in folder.glob("*.db")) == ["counter_slot0.db"]
