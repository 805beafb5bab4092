"""The request id (`X-Request-ID`) reaches the Celery tasks a request enqueues: it travels in a message header,
and the task's JSON log lines carry it while it runs (and only then)."""

from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from celery import shared_task
from django.conf import settings
from kombu import Producer
from pythonjsonlogger.json import JsonFormatter

from accounts.tasks import send_email
from jeghealth_backend.api.logging import REQUEST_ID_HEADER, RequestIdFilter, request_id_var
from jeghealth_backend.celery import app as celery_app

RESET = "/api/v1/auth/password-reset/"
MAIL = {"to": "someone@example.org", "subject": "s", "text": "t", "html": "h"}


@shared_task(name="tests.log_a_line")
def log_a_line() -> str:
    logging.getLogger("tests.celery").info("inside_the_task")
    return request_id_var.get()


@shared_task(name="tests.enqueue_mail")
def enqueue_mail() -> None:
    send_email.apply_async(kwargs=MAIL)


class JsonLines(logging.Handler):
    """The deployment's console handler (its request id filter and JSON formatter), writing to a list."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.addFilter(RequestIdFilter())
        options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
        self.setFormatter(JsonFormatter(**options))
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def of(self, logger: str) -> list[dict]:
        return [line for line in self.lines if line["logger"] == logger]


@pytest.fixture
def json_lines():
    handler = JsonLines()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture
def published():
    """Tasks are published (not run eagerly), and each publish is recorded instead of reaching the broker."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    with mock.patch.object(Producer, "publish") as publish:
        yield publish
    celery_app.conf.task_always_eager = eager


def headers_of(publish) -> list[dict]:
    return [call.kwargs["headers"] for call in publish.call_args_list]


class TestPublishing:
    # Transactional where a request enqueues: the service's commit then runs its on_commit enqueue inside the
    # request, as in production (a test transaction would run it after the request, if at all).
    @pytest.mark.django_db(transaction=True)
    def test_a_task_enqueued_by_a_request_carries_its_request_id(self, anon, user_a, published):
        r = anon.post(RESET, {"email": user_a.email}, format="json", HTTP_X_REQUEST_ID="reset-req-1")

        assert r.status_code == 200
        ((headers),) = headers_of(published)
        assert headers["task"] == "accounts.send_email"
        assert headers[REQUEST_ID_HEADER] == "reset-req-1"

    @pytest.mark.django_db(transaction=True)
    def test_a_generated_request_id_is_carried_too(self, anon, user_a, published):
        r = anon.post(RESET, {"email": user_a.email}, format="json")

        ((headers),) = headers_of(published)
        assert headers[REQUEST_ID_HEADER] == r["X-Request-ID"]

    def test_a_task_enqueued_outside_any_request_carries_none(self, published):
        send_email.apply_async(kwargs=MAIL)

        ((headers),) = headers_of(published)
        assert REQUEST_ID_HEADER not in headers

    def test_a_task_enqueued_by_a_task_passes_the_request_id_on(self, published):
        enqueue_mail.apply(headers={REQUEST_ID_HEADER: "parent-req-7"})

        ((headers),) = headers_of(published)
        assert headers["task"] == "accounts.send_email"
        assert headers[REQUEST_ID_HEADER] == "parent-req-7"


class TestWorkerLogs:
    """`apply(headers=...)` runs a task as a worker runs a message carrying those headers."""

    def test_the_tasks_log_lines_carry_the_request_id_of_the_message(self, json_lines):
        log_a_line.apply(headers={REQUEST_ID_HEADER: "msg-req-3"})

        (line,) = json_lines.of("tests.celery")
        assert (line["message"], line["request_id"]) == ("inside_the_task", "msg-req-3")

    def test_celerys_own_success_line_carries_it(self, json_lines):
        log_a_line.apply(headers={REQUEST_ID_HEADER: "msg-req-4"})

        (line,) = json_lines.of("celery.app.trace")
        assert "succeeded" in line["message"] and line["request_id"] == "msg-req-4"

    def test_the_request_id_is_dropped_once_the_task_has_run(self):
        # `.result`, not `.get()`: once a test has set up a worker in this process, Celery refuses get().
        assert log_a_line.apply(headers={REQUEST_ID_HEADER: "msg-req-5"}).result == "msg-req-5"

        assert request_id_var.get() == ""

    def test_a_task_without_the_header_logs_none(self, json_lines):
        log_a_line.apply()

        (line,) = json_lines.of("tests.celery")
        assert line["request_id"] == ""


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_of_a_request_logs_its_request_id(anon, user_a, json_lines):
    """Without a broker (development, the tests) the task runs inside the request, and logs under its id."""
    anon.post(RESET, {"email": user_a.email}, format="json", HTTP_X_REQUEST_ID="eager-req-6")

    (line,) = [line for line in json_lines.of("celery.app.trace") if "accounts.send_email" in line["message"]]
    assert line["request_id"] == "eager-req-6"
