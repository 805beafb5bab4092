from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer

import pytest

from .fakes import FakeExpo, FakeSMTP, ThreadingTCPServer, expo_handler, smtp_handler


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _use_smtp(settings, port)


def _use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
