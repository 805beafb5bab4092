"""Helpers of the caregiver tests: invitations made and accepted through the API, the link read from the mail."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.core import mail

URL = "/api/v1/auth/care-team/"
ACCEPT_URL = f"{URL}accept/"
ALL_SCOPES = ["health_metrics", "medications", "appointments", "alerts"]


def invite(client, email: str, scopes=("health_metrics",), **extra):
    """POST a caregiver invitation as the patient of CLIENT (the caller runs on-commit callbacks to mail it)."""
    body = {"role": "caregiver", "email": email, "scopes": list(scopes), **extra}
    return client.post(URL, body, format="json")


def token_mailed_to(email: str) -> str:
    """The token of the last invitation link mailed to EMAIL; the link is FRONTEND_URL/care-invite?token=…"""
    sent = [m for m in mail.outbox if m.to == [email]]
    assert sent, f"no mail to {email}"
    links = re.findall(r"\S+/care-invite\?token=\S+", sent[-1].body)
    assert len(links) == 1, sent[-1].body
    link = urlparse(links[0])
    assert f"{link.scheme}://{link.netloc}" == settings.FRONTEND_URL
    return parse_qs(link.query)["token"][0]


def invite_and_accept(patient_client, caregiver_client, scopes=("health_metrics",), capture=None) -> dict:
    """A caregiver grant made active the way people do it: invitation, mail, link, acceptance. Returns the grant."""
    with capture(execute=True):
        created = invite(patient_client, caregiver_client.user.email, scopes)
    assert created.status_code == 201, created.content
    accepted = caregiver_client.post(ACCEPT_URL, {"token": token_mailed_to(caregiver_client.user.email)}, format="json")
    assert accepted.status_code == 200, accepted.content
    return accepted.json()
