from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer

import pytest

from .fakes import FakeExpo, FakeSMS, FakeSMTP, ThreadingTCPServer, expo_handler, sms_handler, smtp_handler

SMS_ACCOUNT = "AC0123456789abcdef0123456789abcdef"
SMS_AUTH_TOKEN = "test-auth-token-9f8e"
SMS_FROM = "+15005550006"


@pytest.fixture
def expo(settings):
    """A local Expo push endpoint; EXPO_PUSH_URL points at it for the test."""
    fake = FakeExpo()
    server = ThreadingHTTPServer(("127.0.0.1", 0), expo_handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    settings.EXPO_PUSH_URL = f"http://127.0.0.1:{server.server_address[1]}/--/api/v2/push/send"
    settings.EXPO_ACCESS_TOKEN = ""
    settings.EXPO_PUSH_TIMEOUT = 5.0
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def sms(settings):
    """A local provider with Twilio's Messages API; SMS_API_URL, SMS_API_TOKEN and SMS_FROM point at it."""
    fake = FakeSMS()
    server = ThreadingHTTPServer(("127.0.0.1", 0), sms_handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    port = server.server_address[1]
    settings.SMS_API_URL = f"http://127.0.0.1:{port}/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json"
    settings.SMS_API_TOKEN = f"{SMS_ACCOUNT}:{SMS_AUTH_TOKEN}"
    settings.SMS_FROM = SMS_FROM
    settings.SMS_API_TIMEOUT = 5.0
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def sms_down(settings):
    """SMS settings pointing at a port nobody listens on."""
    settings.SMS_API_URL = f"http://127.0.0.1:{_free_port()}/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json"
    settings.SMS_API_TOKEN = f"{SMS_ACCOUNT}:{SMS_AUTH_TOKEN}"
    settings.SMS_FROM = SMS_FROM
    settings.SMS_API_TIMEOUT = 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A local SMTP server; the SMTP e-mail backend points at it for the test."""
    fake = FakeSMTP()
    server = ThreadingTCPServer(("127.0.0.1", 0), smtp_handler(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    _use_smtp(settings, server.server_address[1])
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_down(settings):
    """SMTP settings pointing at a port nobody listens on."""
    _use_smtp(settings, _free_port())


def _use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
