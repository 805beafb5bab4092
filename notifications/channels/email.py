"""E-mail through Django's e-mail backend: a plain-text and an HTML body rendered from templates.

The person's own notifications go to their account address, only once it is verified: a health message must not
reach whoever typed someone else's address at sign-up. Deliveries with a `contact` are e-mails to an emergency
contact: they say the notification's `contact_message` and nothing else. SMTP answers are sorted into transient
(connection errors, timeouts, 4xx) and permanent (5xx) failures; the backend's own timeout is `EMAIL_TIMEOUT`.
"""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.choices import Channel
from notifications.contact_message import ContactMessage

from .base import BaseChannel, DeliverySkipped, PermanentDeliveryError, SendResult, TransientDeliveryError

if TYPE_CHECKING:
    from notifications.models import NotificationDelivery

TEMPLATES = "notifications/email"
APP_NAME = "JEGHealth"


class EmailChannel(BaseChannel):
    name = Channel.EMAIL

    def send(self, delivery: NotificationDelivery) -> SendResult:
        notification = delivery.notification
        person = notification.recipient
        context = {
            "app_name": APP_NAME,
            "notification": notification,
            "person_name": person.full_name,
            "link": f"{settings.FRONTEND_URL}/notifications",
        }
        if delivery.contact_id is not None:
            contact = delivery.contact
            if not contact.email:
                raise DeliverySkipped("the emergency contact has no e-mail address")
            message = ContactMessage.from_stored(notification.contact_message)
            if message is None:
                raise PermanentDeliveryError("the notification has no message for its contacts")
            # The contact reads the message's words only: the template adds none of the notification's facts.
            context = {"app_name": APP_NAME, "subject": message.subject, "text": message.text}
            send_templated(to=contact.email, template="contact_message", context=context)
        else:
            if not person.email or not person.is_email_verified:
                raise DeliverySkipped("the account e-mail address is not verified")
            send_templated(to=person.email, template="notification", context=context)
        return SendResult()


def send_templated(*, to: str, template: str, context: dict) -> None:
    """Render `<template>_subject.txt`, `.txt` and `.html` and send them; raise a `DeliveryError` on failure."""
    subject = " ".join(render_to_string(f"{TEMPLATES}/{template}_subject.txt", context).split())
    text = render_to_string(f"{TEMPLATES}/{template}.txt", context)
    html = render_to_string(f"{TEMPLATES}/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    message.attach_alternative(html, "text/html")
    send_message(message)


def send_message(message: EmailMultiAlternatives) -> None:
    # smtplib's exceptions are OSError subclasses, so the specific ones are caught first. Only SMTP codes go into
    # the error: the exceptions' own text names the recipient's address.
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        if codes and all(400 <= code < 500 for code in codes):
            raise TransientDeliveryError(f"SMTP recipient deferred ({codes[0]})") from None
        raise PermanentDeliveryError(f"SMTP recipient refused ({codes[0] if codes else 'no code'})") from None
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientDeliveryError(f"SMTP temporary error ({exc.smtp_code})") from None
        raise PermanentDeliveryError(f"SMTP error ({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        # Connection refused or reset, timeouts, a server that hung up: the next attempt may well succeed.
        raise TransientDeliveryError(f"SMTP unavailable ({type(exc).__name__})") from None
