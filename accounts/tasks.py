"""Account mail and token housekeeping. Thin: the work is Django's mail backend and simplejwt's command."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command


@shared_task(name="accounts.send_email")
def send_email(*, to: str, subject: str, text: str, html: str) -> None:
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> None:
    """Rotation writes a row per refresh; expired ones are useless and are dropped daily."""
    call_command("flushexpiredtokens")
