"""Account mail and token housekeeping. Thin: the work is Django's mail backend and simplejwt's command."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command

from .sessions import sessions_purge
from .signin import mfa_challenges_purge


@shared_task(name="accounts.send_email")
def send_email(*, to: str, subject: str, text: str, html: str) -> None:
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> None:
    """Rotation writes a row per refresh; expired ones are useless and are dropped daily, with the sessions and
    sign-in challenges that ended or expired a day ago or more."""
    call_command("flushexpiredtokens")
    sessions_purge(older_than=timedelta(days=1))
    mfa_challenges_purge(older_than=timedelta(days=1))
