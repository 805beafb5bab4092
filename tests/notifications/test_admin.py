"""The admin pages of notifications render for staff, and failed deliveries can be sent again."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import NotificationDelivery

from .factories import EmergencyContactFactory, PushTokenFactory
from .helpers import delivery_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("model", ["notification", "notificationdelivery", "pushtoken", "emergencycontact"])
def test_the_changelists_render(staff, user_a, model):
    delivery_of(user_a, "email")
    PushTokenFactory(user=user_a)
    EmergencyContactFactory(user=user_a)

    assert staff.get(f"/admin/notifications/{model}/").status_code == 200


def test_searching_contacts_looks_at_their_person_not_at_the_encrypted_fields(staff, user_a):
    EmergencyContactFactory(user=user_a)

    r = staff.get("/admin/notifications/emergencycontact/", {"q": user_a.email})

    assert r.status_code == 200 and r.context["cl"].result_count == 1


def test_a_notification_page_shows_its_deliveries_and_never_a_push_token(staff, user_a):
    delivery = delivery_of(user_a, "push")
    token = PushTokenFactory(user=user_a)

    notification_page = staff.get(f"/admin/notifications/notification/{delivery.notification_id}/change/")
    token_page = staff.get(f"/admin/notifications/pushtoken/{token.pk}/change/")

    assert notification_page.status_code == 200
    assert all(label in notification_page.content for label in (b"In-app", b"E-mail", b"Push", b"Pending"))
    assert token_page.status_code == 200 and token.token.encode() not in token_page.content


def test_the_requeue_action_sends_failed_deliveries_again(staff, user_a, django_capture_on_commit_callbacks):
    delivery = delivery_of(user_a, "email")
    NotificationDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=10)

    with django_capture_on_commit_callbacks(execute=True):
        r = staff.post(
            "/admin/notifications/notificationdelivery/",
            {"action": "requeue", "_selected_action": [str(delivery.pk)]},
        )

    assert r.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1
