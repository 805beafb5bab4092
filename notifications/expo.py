"""A client for Expo's push API (`POST settings.EXPO_PUSH_URL`), treating its answers as untrusted input.

One call sends up to 100 messages and answers one ticket per message, in order:
`{"data": [{"status": "ok", "id": "…"} | {"status": "error", "message": "…", "details": {"error": "…"}}]}`.
The receipts of those tickets are read later from `getReceipts`, beside the push endpoint (up to 1000 ids a call).
Timeouts, 5xx, 429, redirects and anything that does not have that shape are transient (`ExpoTransientError`),
other 4xx permanent (`ExpoPermanentError`). Redirects are not followed (a POST body must not wander off to
wherever a redirect points), TLS certificates are verified, and answers are read up to a size cap and within
`EXPO_PUSH_TIMEOUT` as a whole (the socket timeout bounds each read, not the answer).
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

MAX_MESSAGES_PER_REQUEST = 100
MAX_RECEIPTS_PER_REQUEST = 1000
MAX_ANSWER_BYTES = 1024 * 1024
_ERROR_CODE = re.compile(r"^[A-Za-z_]{1,64}$")


class ExpoError(Exception):
    pass


class ExpoTransientError(ExpoError):
    pass


class ExpoPermanentError(ExpoError):
    pass


@dataclass(frozen=True)
class PushTicket:
    """Expo's answer for one message: `ok` with a ticket `id`, or an `error` code such as DeviceNotRegistered."""

    ok: bool
    id: str = ""
    error: str = ""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        _RefuseRedirects(), urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )


def send_push(messages: list[dict[str, Any]]) -> list[PushTicket]:
    """POST MESSAGES (at most 100) and answer one ticket per message, in the same order."""
    if not 0 < len(messages) <= MAX_MESSAGES_PER_REQUEST:
        raise ValueError(f"Expo takes 1 to {MAX_MESSAGES_PER_REQUEST} messages per request.")
    raw = _post_json(settings.EXPO_PUSH_URL, messages)
    return parse_tickets(raw, expected=len(messages))


def receipts_url() -> str:
    """Expo's getReceipts endpoint beside the configured push endpoint (same scheme, host and path prefix)."""
    parts = urlsplit(settings.EXPO_PUSH_URL)
    path = parts.path
    prefix = path[: -len("/send")] if path.endswith("/send") else "/--/api/v2/push"
    return urlunsplit((parts.scheme, parts.netloc, f"{prefix}/getReceipts", "", ""))


def get_receipts(ticket_ids: list[str]) -> dict[str, PushTicket]:
    """Receipts of TICKET_IDS (at most 1000) by ticket id; ids Expo has no receipt for yet are absent.

    Expo answers `{"data": {"<ticket id>": {"status": "ok"} | {"status": "error", "details": {"error": …}}}}`.
    """
    if not 0 < len(ticket_ids) <= MAX_RECEIPTS_PER_REQUEST:
        raise ValueError(f"Expo takes 1 to {MAX_RECEIPTS_PER_REQUEST} receipt ids per request.")
    raw = _post_json(receipts_url(), {"ids": ticket_ids})
    return parse_receipts(raw, asked=set(ticket_ids))


def _post_json(url: str, payload: Any) -> bytes:
    if urlsplit(url).scheme not in ("https", "http"):
        raise ExpoPermanentError("EXPO_PUSH_URL is not an http(s) URL")
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if settings.EXPO_ACCESS_TOKEN:
        headers["Authorization"] = f"Bearer {settings.EXPO_ACCESS_TOKEN}"
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    deadline = time.monotonic() + settings.EXPO_PUSH_TIMEOUT
    try:
        with _opener().open(request, timeout=settings.EXPO_PUSH_TIMEOUT) as answer:
            raw = _read_until(answer, deadline)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
        if status in (408, 429) or status >= 500 or 300 <= status < 400:
            raise ExpoTransientError(f"Expo answered HTTP {status}") from None
        raise ExpoPermanentError(f"Expo answered HTTP {status}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        # URLError wraps connection errors; TimeoutError and ConnectionResetError are OSErrors.
        raise ExpoTransientError(f"Expo unreachable ({type(exc).__name__})") from None
    if len(raw) > MAX_ANSWER_BYTES:
        raise ExpoTransientError("Expo's answer is larger than expected")
    return raw


def _read_until(answer: http.client.HTTPResponse, deadline: float) -> bytes:
    """At most MAX_ANSWER_BYTES + 1 bytes of ANSWER, read by the DEADLINE (TimeoutError after it).

    Each read waits at most the socket timeout, so an answer that trickles in a byte at a time would otherwise
    hold the worker for as long as the upstream likes (OWASP API10).
    """
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_ANSWER_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError("Expo's answer did not arrive within the timeout")
        chunk = answer.read1(min(64 * 1024, MAX_ANSWER_BYTES + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_tickets(raw: bytes, *, expected: int) -> list[PushTicket]:
    """Validate the shape of a 2xx answer; anything else than one well-formed ticket per message is transient."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise ExpoTransientError("Expo's answer is not JSON") from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise ExpoTransientError("Expo's answer does not hold one ticket per message")
    return [_ticket(item) for item in data]


def parse_receipts(raw: bytes, *, asked: set[str]) -> dict[str, PushTicket]:
    """Validate a getReceipts answer: an object of receipts by ticket id; ids not ASKED for are ignored."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise ExpoTransientError("Expo's answer is not JSON") from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise ExpoTransientError("Expo's answer holds no receipts")
    receipts = {}
    for ticket_id, item in data.items():
        if ticket_id not in asked:
            continue
        if isinstance(item, dict) and item.get("status") == "ok":
            receipts[ticket_id] = PushTicket(ok=True, id=ticket_id)
        elif isinstance(item, dict) and item.get("status") == "error":
            receipts[ticket_id] = _ticket(item)
        # Anything else is not a receipt we can act on: as if Expo had none for that ticket yet.
    return receipts


def _ticket(item: Any) -> PushTicket:
    if not isinstance(item, dict):
        raise ExpoTransientError("Expo's ticket is not an object")
    status = item.get("status")
    if status == "ok":
        ticket_id = item.get("id")
        if not isinstance(ticket_id, str) or not 0 < len(ticket_id) <= 128:
            raise ExpoTransientError("Expo's ticket has no valid id")
        return PushTicket(ok=True, id=ticket_id)
    if status == "error":
        details = item.get("details")
        code = details.get("error") if isinstance(details, dict) else None
        # Only a recognisable code is kept: Expo's free-text message may quote the push token.
        return PushTicket(ok=False, error=code if isinstance(code, str) and _ERROR_CODE.match(code) else "Unknown")
    raise ExpoTransientError("Expo's ticket has an unknown status")
