"""Account mail: one templated message, rendered now and sent by a Celery task after the transaction commits.

The templates live in `accounts/templates/accounts/email/<name>{_subject.txt,.txt,.html}`. A rolled-back write
never mails anybody, and a broker that is down never turns a committed write into a 500. Nor does it lose the
message: a sign-up link or a reset that waited in a queue nobody can reach would never arrive, so when the broker
cannot be reached the web process sends the message itself (SMTP, bounded by `EMAIL_TIMEOUT`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string

from jeghealth_backend.celery import enqueue_or_log

logger = logging.getLogger(__name__)


def account_mail_send(*, to: str, template: str, context: dict[str, Any], ref: dict[str, str]) -> None:
    """Mail TEMPLATE rendered with CONTEXT to the address TO once the current transaction commits.

    REF names the message in the broker and the worker's logs (ids and the template, never the address, a
    name or a token): the bodies hold single-use links, so the task's arguments are never shown (kwargsrepr).
    """
    context = {**context, "app_name": "JEGHealth"}
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
    text = render_to_string(f"accounts/email/{template}.txt", context)
    html = render_to_string(f"accounts/email/{template}.html", context)
    message = {"to": to, "subject": subject, "text": text, "html": html}
    summary = repr({**ref, "template": template})
    transaction.on_commit(lambda: _mail_enqueue_or_send(message, summary=summary, ref=ref), robust=True)


def _mail_enqueue_or_send(message: dict[str, str], *, summary: str, ref: dict[str, str]) -> None:
    from .tasks import send_email

    sent = enqueue_or_log(
        send_email, kwargs=message, kwargsrepr=summary, event="account_mail_sent_inline", extra={"mail": summary}
    )
    if not sent:
        send_email(**message)
