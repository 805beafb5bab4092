"""OWASP API10 Unsafe Consumption of APIs (2023); what the modules share: the package docstring."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from iot_devices.models import IoTDevice
from notifications import expo
from tests.iot_devices.factories import pair_device
from tests.notifications.fakes import FakeExpo, expo_handler

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


class _Trickle(BaseHTTPRequestHandler):
    """An upstream that answers 200 and then sends its body one byte at a time, slowly, forever."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            return

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    """`upstream(handler)` serves HANDLER on 127.0.0.1 for the test and answers its URL."""
    servers = []

    def start(handler) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/--/api/v2/push/send"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


MESSAGE = [{"to": "ExponentPushToken[abc]", "title": "t", "body": "b"}]


class TestAPI10UnsafeConsumptionOfAPIs:
    @pytest.mark.parametrize(
        "answer",
        [
            b"<html>502</html>",
            b"\xff\xfe\x00garbage",
            b"[1, 2",
            b'{"data": {"a": 1}}',
            b'{"data": [[[[[]]]]]}',
            b"null",
        ],
        ids=["html", "not-utf8", "truncated", "wrong-shape", "nested", "null"],
    )
    def test_a_malformed_answer_is_a_transient_error(self, answer, upstream, settings):
        fake = FakeExpo()
        fake.script = [fake.raw(answer)]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        with pytest.raises(expo.ExpoTransientError):
            expo.send_push(MESSAGE)

    def test_a_huge_answer_is_read_only_up_to_the_cap(self, upstream, settings):
        fake = FakeExpo()
        fake.script = [fake.raw(b'{"data": [' + b'{"status": "ok", "id": "x"},' * 200_000 + b"]}")]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        with pytest.raises(expo.ExpoTransientError, match="larger than expected"):
            expo.send_push(MESSAGE)

    def test_a_redirect_is_not_followed_anywhere(self, upstream, settings):
        elsewhere = FakeExpo()
        target = upstream(expo_handler(elsewhere))
        fake = FakeExpo()
        fake.script = [fake.status(302, b"", {"Location": target})]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        with pytest.raises(expo.ExpoTransientError, match="HTTP 302"):
            expo.send_push(MESSAGE)

        assert (len(fake.requests), elsewhere.requests) == (1, [])

    def test_a_ticket_quoting_the_push_token_keeps_only_the_error_code(self, upstream, settings):
        fake = FakeExpo()
        fake.script = [fake.not_registered(MESSAGE[0]["to"])]
        settings.EXPO_PUSH_URL = upstream(expo_handler(fake))

        [ticket] = expo.send_push(MESSAGE)

        assert (ticket.ok, ticket.error) == (False, "DeviceNotRegistered")
        assert MESSAGE[0]["to"] not in repr(ticket)

    def test_an_answer_that_trickles_in_is_abandoned_within_the_timeout(self, upstream, settings):
        settings.EXPO_PUSH_URL = upstream(_Trickle)
        settings.EXPO_PUSH_TIMEOUT = 0.5
        started = time.monotonic()

        with pytest.raises(expo.ExpoTransientError):
            expo.send_push(MESSAGE)

        assert time.monotonic() - started < 3 * settings.EXPO_PUSH_TIMEOUT

    def test_an_unreachable_upstream_is_a_transient_error(self, settings):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings.EXPO_PUSH_URL = f"http://127.0.0.1:{port}/--/api/v2/push/send"

        with pytest.raises(expo.ExpoTransientError, match="unreachable"):
            expo.send_push(MESSAGE)


def test_the_leak_guard_sees_a_stored_secret_in_an_answer(user_a, api, leak_guard):
    """The guard of this module is itself tested: a device key hash in a body is reported."""
    watch = pair_device(user_a)
    api(user_a).get(f"/api/v1/devices/{watch.device.pk}/")
    stored = IoTDevice.objects.get(pk=watch.device.pk).key_hash

    leak_guard.record(None, "GET /probe/", f'{{"key_hash": "{stored}"}}'.encode())

    assert leak_guard.leaks() == [f"GET /probe/: {stored[:24]}…"]
    leak_guard.bodies.pop()
