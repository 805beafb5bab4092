"""SMS to an emergency contact through a provider with Twilio's Messages API.

One form POST of `To`, `From` (`SMS_FROM`) and `Body` to `SMS_API_URL` (the whole Messages URL), with HTTP basic
auth from `SMS_API_TOKEN` (`<user>:<password>`; Twilio: the account sid and auth token), sent with httpx under
`SMS_API_TIMEOUT` for the whole exchange. The answer's message `sid` becomes the delivery's `provider_id`.

Outcomes: `SMS_API_URL` unset → skipped (no SMS configured). Connection errors, timeouts, 5xx, 408 and 429 are
transient: the engine puts the delivery back and the task retries with backoff, up to the engine's cap. Any other
4xx (a number the provider refuses, bad credentials) and a redirect end the delivery as failed: retrying cannot
help, and a POST carrying a phone number must not follow a redirect anywhere. Only the provider's numeric error
code is kept (its message quotes the number), and logs carry identifiers only, never the number or the text.

A timeout after the request was sent may mean the provider did send it: the retry can then send a second SMS.
That is the price of not losing an escalation; Twilio's Messages API has no idempotency key to avoid it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING

import httpx
from django.conf import settings

from notifications.choices import Channel
from notifications.contact_message import ContactMessage

from .base import BaseChannel, DeliverySkipped, PermanentDeliveryError, SendResult, TransientDeliveryError

if TYPE_CHECKING:
    from notifications.models import NotificationDelivery

logger = logging.getLogger("jeghealth.notifications")

MAX_ANSWER_BYTES = 64 * 1024
TRANSIENT_STATUSES = frozenset({408, 429})
_SEPARATORS = re.compile(r"[ ()\-.]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")


def e164(phone_number: str) -> str | None:
    """PHONE_NUMBER as E.164 (`+` and 7 to 15 digits) once its separators are dropped, or None."""
    candidate = _SEPARATORS.sub("", phone_number or "")
    return candidate if _E164.match(candidate) else None


class SmsChannel(BaseChannel):
    name = Channel.SMS
    reaches_recipient = False
    # Contacts are only ever written to about an escalated critical alert, which quiet hours never hold.
    respects_quiet_hours = False

    def send(self, delivery: NotificationDelivery) -> SendResult:
        if delivery.contact_id is None:
            raise PermanentDeliveryError("SMS goes to emergency contacts only")
        if not settings.SMS_API_URL:
            raise DeliverySkipped("SMS is not configured (SMS_API_URL is unset)")
        to = e164(delivery.contact.phone_number)
        if to is None:
            raise DeliverySkipped("the emergency contact has no phone number in international format")
        message = ContactMessage.from_stored(delivery.notification.contact_message)
        if message is None:
            raise PermanentDeliveryError("the notification has no message for its contacts")
        status, raw = post_message(to=to, body=message.sms)
        sid = _sid(raw)
        logger.info("sms_sent", extra={"delivery_id": str(delivery.pk), "status": status, "sid": sid})
        return SendResult(provider_id=sid)


def post_message(*, to: str, body: str) -> tuple[int, bytes]:
    """POST one message to SMS_API_URL; answer the 2xx status and body, or raise a `DeliveryError`."""
    user, _, password = settings.SMS_API_TOKEN.partition(":")
    auth = httpx.BasicAuth(user, password) if settings.SMS_API_TOKEN else None
    form = {"To": to, "From": settings.SMS_FROM, "Body": body}
    timeout = settings.SMS_API_TIMEOUT
    # httpx's timeout bounds each connect and read; the deadline bounds the whole answer (a trickling server).
    deadline = time.monotonic() + timeout
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, auth=auth) as client,
            client.stream("POST", settings.SMS_API_URL, data=form, headers={"Accept": "application/json"}) as answer,
        ):
            status = answer.status_code
            raw = _read_until(answer, deadline)
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise TransientDeliveryError(f"SMS provider timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        # Connection refused or reset, DNS, TLS: the next attempt may well succeed.
        raise TransientDeliveryError(f"SMS provider unreachable ({type(exc).__name__})") from None
    if 200 <= status < 300:
        return status, raw
    code = _error_code(raw)
    if status >= 500 or status in TRANSIENT_STATUSES:
        raise TransientDeliveryError(f"SMS provider answered HTTP {status}{code}")
    raise PermanentDeliveryError(f"SMS provider answered HTTP {status}{code}")


def _read_until(answer: httpx.Response, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in answer.iter_bytes():
        if time.monotonic() > deadline:
            raise TimeoutError("the SMS provider's answer did not arrive within the timeout")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[:MAX_ANSWER_BYTES]


def _json(raw: bytes) -> dict:
    try:
        document = json.loads(raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _sid(raw: bytes) -> str:
    # A 2xx means the provider took the message: an answer without a readable sid is still sent (a retry would
    # send a second SMS), only without a provider id.
    sid = _json(raw).get("sid")
    return sid if isinstance(sid, str) and _SID.match(sid) else ""


def _error_code(raw: bytes) -> str:
    code = _json(raw).get("code")
    return f" (code {code})" if isinstance(code, int) and not isinstance(code, bool) else ""
