"""Local servers that speak Expo's push protocol (send and getReceipts), SMTP and Twilio's Messages API, so
delivery is tested over real sockets.

Each records what it received and answers from a script (one entry per request or command), falling back to
success. Nothing in the code under test is patched: settings point it at 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

Answer = tuple[int, bytes, dict]


class FakeExpo:
    """Expo's push endpoint: POST a JSON list of messages, answer one ticket per message."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[Callable[[list[dict]], Answer]] = []
        # getReceipts: receipts that are not `ok`, by ticket id; tickets whose receipt is not ready yet; requests.
        self.receipts: dict[str, dict] = {}
        self.not_ready: set[str] = set()
        self.receipt_requests: list[dict] = []
        self._lock = threading.Lock()
        self._tickets = 0

    def receipt_not_registered(self, ticket_id: str) -> None:
        self.receipts[ticket_id] = {
            "status": "error",
            "message": "The recipient device is not registered with FCM.",
            "details": {"error": "DeviceNotRegistered"},
        }

    @property
    def messages(self) -> list[dict]:
        return [m for request in self.requests for m in request["messages"]]

    # --- answers a test can queue -------------------------------------------------------------------------
    def ok(self, messages: list[dict]) -> Answer:
        with self._lock:
            tickets = []
            for _ in messages:
                self._tickets += 1
                tickets.append({"status": "ok", "id": f"ticket-{self._tickets}"})
        return 200, json.dumps({"data": tickets}).encode(), {}

    @staticmethod
    def status(code: int, body: bytes = b'{"errors": [{"code": "ERROR", "message": "no"}]}', headers=None):
        return lambda messages: (code, body, headers or {})

    def not_registered(self, *tokens: str):
        """Tickets: DeviceNotRegistered for TOKENS, ok for the others."""

        def answer(messages: list[dict]) -> Answer:
            _, body, _ = self.ok(messages)
            tickets = json.loads(body)["data"]
            for i, message in enumerate(messages):
                if message["to"] in tokens:
                    tickets[i] = {
                        "status": "error",
                        "message": f'"{message["to"]}" is not a registered push notification recipient',
                        "details": {"error": "DeviceNotRegistered"},
                    }
            return 200, json.dumps({"data": tickets}).encode(), {}

        return answer

    @staticmethod
    def raw(body: bytes, code: int = 200):
        return lambda messages: (code, body, {"Content-Type": "application/json"})

    @staticmethod
    def slow(seconds: float):
        def answer(messages: list[dict]) -> Answer:
            time.sleep(seconds)
            return 200, b'{"data": []}', {}

        return answer

    def answer(self, messages: list[dict]) -> Answer:
        with self._lock:
            step = self.script.pop(0) if self.script else None
        return (step or self.ok)(messages)


def expo_handler(fake: FakeExpo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.endswith("/getReceipts"):
                ids = json.loads(body)["ids"]
                fake.receipt_requests.append({"path": self.path, "headers": dict(self.headers.items()), "ids": ids})
                data = {t: fake.receipts.get(t, {"status": "ok"}) for t in ids if t not in fake.not_ready}
                code, payload, headers = 200, json.dumps({"data": data}).encode(), {}
            else:
                messages = json.loads(body)
                fake.requests.append({"path": self.path, "headers": dict(self.headers.items()), "messages": messages})
                code, payload, headers = fake.answer(messages)
            self.send_response(code)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    return Handler


class FakeSMS:
    """Twilio's Messages API: a form POST of To, From and Body with basic auth, answered 201 with a message sid.

    `requests` holds every request received (form fields, basic auth credentials, path); `delivered` only those
    answered 201, i.e. the SMS the provider took. `script` answers requests in turn, then 201. `hanging` is set
    while a request is held by `hang()`, and `release` ends every hang at once.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.delivered: list[dict] = []
        self.script: list[Callable[[], Answer]] = []
        self.hanging = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._sids = 0

    def created(self) -> Answer:
        with self._lock:
            self._sids += 1
            sid = f"SM{self._sids:032x}"
        return 201, json.dumps({"sid": sid, "status": "queued"}).encode(), {}

    @staticmethod
    def status(code: int, twilio_code: int = 20001):
        message = "The 'To' number +15005550001 is not valid."
        body = json.dumps({"code": twilio_code, "message": message, "status": code})
        return lambda: (code, body.encode(), {})

    def hang(self, seconds: float):
        """Hold the answer for SECONDS (or until `release`), then answer 503: a stuck provider that took nothing."""

        def answer() -> Answer:
            self.hanging.set()
            self.release.wait(seconds)
            return 503, b'{"code": 20500, "message": "Internal error"}', {}

        return answer

    def answer(self) -> Answer:
        with self._lock:
            step = self.script.pop(0) if self.script else None
        return (step or self.created)()


def sms_handler(fake: FakeSMS) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            auth = self.headers.get("Authorization", "")
            credentials = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else None
            request = {
                "path": self.path,
                "content_type": self.headers.get("Content-Type", ""),
                "auth": credentials,
                "form": {key: values[0] for key, values in parse_qs(body).items()},
            }
            fake.requests.append(request)
            code, payload, headers = fake.answer()
            try:
                self.send_response(code)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts): not delivered
                return
            if code == 201:
                fake.delivered.append(request | {"sid": json.loads(payload)["sid"]})

        def log_message(self, *args) -> None:
            pass

    return Handler


class FakeSMTP:
    """An SMTP server: RCPT TO answers from `rcpt_codes` (then 250); accepted messages land in `messages`."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.rcpt_codes: list[int] = []


def smtp_handler(fake: FakeSMTP) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def say(self, line: str) -> None:
            self.wfile.write((line + "\r\n").encode())

        def handle(self) -> None:
            self.say("220 fake.local ESMTP")
            recipients: list[str] = []
            lines: list[str] = []
            in_data = False
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                if in_data:
                    if text == ".":
                        fake.messages.append({"to": recipients, "data": "\n".join(lines)})
                        recipients, lines, in_data = [], [], False
                        self.say("250 2.0.0 queued")
                    else:
                        lines.append(text[1:] if text.startswith("..") else text)
                    continue
                verb = text.split(" ", 1)[0].split(":", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.say("250 fake.local")
                elif verb == "MAIL":
                    self.say("250 2.1.0 ok")
                elif verb == "RCPT":
                    code = fake.rcpt_codes.pop(0) if fake.rcpt_codes else 250
                    if code == 250:
                        recipients.append(text.split(":", 1)[1].strip(" <>"))
                    self.say(f"{code} {'ok' if code == 250 else 'refused'}")
                elif verb == "DATA":
                    self.say("354 go ahead")
                    in_data = True
                elif verb == "QUIT":
                    self.say("221 bye")
                    return
                else:  # RSET, NOOP
                    self.say("250 ok")

    return Handler


class ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
