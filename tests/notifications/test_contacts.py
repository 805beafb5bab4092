"""`notify(contacts=…, contact_message=…)`: one delivery per emergency contact, by e-mail or else by SMS, within
the quotas, exactly once per dedupe key."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import IntegrityError

from notifications import selectors
from notifications.models import NotificationDelivery
from notifications.services import ContactMessage, notify

from .factories import EmergencyContactFactory

pytestmark = pytest.mark.django_db

MESSAGE = ContactMessage(
    subject="JEGHealth: urgent reading for Rui Costa",
    text="Rui Costa named you as an emergency contact.\n\nOne of their readings is urgent. Please call them.",
    sms="JEGHealth: an urgent reading for Rui Costa. Please call them.",
)


def escalate(user, contacts, *, dedupe_key: str | None = "alerts:escalation:1", message=MESSAGE, **extra):
    kwargs = {
        "user": user,
        "category": "health_alert",
        "title": "Blood pressure above the critical limit",
        "body": "Open JEGHealth for details.",
        "data": {"value": 191.0, "metric_type": "blood_pressure"},
        "severity": "critical",
        "dedupe_key": dedupe_key,
        "contacts": contacts,
        "contact_message": message,
    }
    return notify(**(kwargs | extra))


def contact_deliveries(notification=None):
    rows = NotificationDelivery.objects.filter(contact__isnull=False)
    return rows.filter(notification=notification) if notification is not None else rows


class TestChannelPerContact:
    def test_a_contact_with_an_address_is_e_mailed_and_one_with_only_a_phone_gets_an_sms(self, user_a):
        by_mail = EmergencyContactFactory(user=user_a)
        by_sms = EmergencyContactFactory(user=user_a, email="", phone_number="+351 912 345 678")

        notification = escalate(user_a, [by_mail, by_sms])

        channels = dict(contact_deliveries(notification).values_list("contact", "channel"))
        assert channels == {by_mail.pk: "email", by_sms.pk: "sms"}
        assert set(contact_deliveries(notification).values_list("status", flat=True)) == {"pending"}

    def test_the_contact_e_mail_says_the_message_and_nothing_of_the_notification(
        self, user_a, django_capture_on_commit_callbacks
    ):
        contact = EmergencyContactFactory(user=user_a)

        with django_capture_on_commit_callbacks(execute=True):
            escalate(user_a, [contact])

        [message] = [m for m in mail.outbox if m.to == [contact.email]]
        assert message.subject == MESSAGE.subject
        assert message.body.startswith(MESSAGE.text)
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html" and "<p>One of their readings is urgent. Please call them.</p>" in html
        for fact in ("191", "blood", "Blood pressure above", "Open JEGHealth for details"):
            assert fact not in message.body and fact not in html

    def test_the_sms_says_the_message(self, user_a, sms, django_capture_on_commit_callbacks):
        EmergencyContactFactory(user=user_a, email="", phone_number="+351 912 345 678")

        with django_capture_on_commit_callbacks(execute=True):
            escalate(user_a, list(selectors.emergency_contacts_to_alert(user=user_a)))

        assert [r["form"]["Body"] for r in sms.delivered] == [MESSAGE.sms]

    def test_the_contact_message_is_not_in_the_persons_api(self, user_a, client_a):
        escalate(user_a, [EmergencyContactFactory(user=user_a)])

        [item] = client_a.get("/api/v1/notifications/").json()["results"]

        assert "contact_message" not in item and "contact_message" not in item["data"]

    def test_without_contacts_nobody_else_is_told(self, user_a):
        EmergencyContactFactory(user=user_a)

        notification = escalate(user_a, [], message=None)

        assert not contact_deliveries(notification).exists()
        assert notification.contact_message == {}


class TestExactlyOnce:
    def test_a_repeated_notify_with_the_same_dedupe_key_creates_nothing(
        self, user_a, django_capture_on_commit_callbacks
    ):
        contact = EmergencyContactFactory(user=user_a)

        with django_capture_on_commit_callbacks(execute=True):
            first = escalate(user_a, [contact])
            again = escalate(user_a, [contact])

        assert again.pk == first.pk
        assert contact_deliveries().count() == 1
        assert len([m for m in mail.outbox if m.to == [contact.email]]) == 1

    def test_a_contact_named_twice_gets_one_delivery(self, user_a):
        contact = EmergencyContactFactory(user=user_a)

        notification = escalate(user_a, [contact, contact])

        assert contact_deliveries(notification).count() == 1

    def test_the_database_holds_one_delivery_per_notification_and_contact(self, user_a):
        contact = EmergencyContactFactory(user=user_a)
        notification = escalate(user_a, [contact])

        with pytest.raises(IntegrityError):
            NotificationDelivery.objects.create(notification=notification, channel="sms", contact=contact)

    def test_the_database_refuses_an_sms_to_the_person_themselves(self, user_a):
        notification = escalate(user_a, [], message=None)

        with pytest.raises(IntegrityError):
            NotificationDelivery.objects.create(notification=notification, channel="sms")


class TestQuotas:
    def test_e_mails_and_sms_count_together_per_person(self, user_a, settings):
        settings.NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY = 2
        by_mail = EmergencyContactFactory(user=user_a)
        by_sms = EmergencyContactFactory(user=user_a, email="", phone_number="+351 912 345 678")

        escalate(user_a, [by_mail, by_sms], dedupe_key="first")
        second = escalate(user_a, [by_sms, by_mail], dedupe_key="second")

        assert contact_deliveries().exclude(status="skipped").count() == 2
        assert set(contact_deliveries(second).values_list("status", "last_error")) == {
            ("skipped", "daily quota of messages to emergency contacts")
        }

    def test_the_quota_per_contact_counts_its_sms(self, user_a, settings):
        settings.NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY = 1
        by_sms = EmergencyContactFactory(user=user_a, email="", phone_number="+351 912 345 678")
        other = EmergencyContactFactory(user=user_a)

        escalate(user_a, [by_sms], dedupe_key="first")
        second = escalate(user_a, [by_sms, other], dedupe_key="second")

        statuses = dict(contact_deliveries(second).values_list("contact", "last_error"))
        assert statuses == {by_sms.pk: "daily quota of messages to this contact", other.pk: ""}

    def test_a_contact_who_no_longer_asks_is_recorded_as_skipped(self, user_a):
        contact = EmergencyContactFactory(user=user_a, notify_on_critical=False)

        notification = escalate(user_a, [contact])

        [delivery] = contact_deliveries(notification)
        assert (delivery.status, delivery.last_error) == ("skipped", "the contact no longer asks to be told")


class TestProgrammingErrors:
    def test_contacts_need_a_message(self, user_a):
        with pytest.raises(ValueError, match="contact_message"):
            escalate(user_a, [EmergencyContactFactory(user=user_a)], message=None)

    def test_another_persons_contact_is_refused(self, user_a, user_b):
        with pytest.raises(ValueError, match="emergency contact of the notified person"):
            escalate(user_a, [EmergencyContactFactory(user=user_b)])

    @pytest.mark.parametrize(
        "parts",
        [
            {"subject": "", "text": "t", "sms": "s"},
            {"subject": "two\nlines", "text": "t", "sms": "s"},
            {"subject": "s", "text": "t", "sms": "x" * 321},
        ],
        ids=["empty-subject", "multiline-subject", "long-sms"],
    )
    def test_a_contact_message_is_checked(self, parts):
        with pytest.raises(ValueError):
            ContactMessage(**parts)


class TestContactsToAlert:
    def test_it_lists_the_contacts_who_asked_in_the_order_they_were_added(self, user_a, user_b):
        first = EmergencyContactFactory(user=user_a)
        by_sms = EmergencyContactFactory(user=user_a, email="", phone_number="+351 912 345 678")
        EmergencyContactFactory(user=user_a, notify_on_critical=False)
        EmergencyContactFactory(user=user_b)

        assert selectors.emergency_contacts_to_alert(user=user_a) == [first, by_sms]
