"""CRUD /notifications/emergency-contacts/."""

from __future__ import annotations

import pytest

from notifications.models import EmergencyContact
from notifications.services import MAX_EMERGENCY_CONTACTS

from .factories import EmergencyContactFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/emergency-contacts/"
ANA = {
    "name": "Ana Lima",
    "relationship": "sister",
    "phone_number": "+351 912 345 678",
    "email": "Ana@Example.net",
    "notify_on_critical": True,
}


class TestCreate:
    def test_it_needs_credentials(self, anon):
        assert anon.post(URL, ANA, format="json").status_code == 401

    def test_it_adds_a_contact(self, client_a, user_a):
        r = client_a.post(URL, ANA, format="json")

        assert r.status_code == 201
        contact = EmergencyContact.objects.get()
        assert r.json() == {
            "id": str(contact.pk),
            "name": "Ana Lima",
            "relationship": "sister",
            "phone_number": "+351 912 345 678",
            "email": "ana@example.net",
            "notify_on_critical": True,
            "created_at": r.json()["created_at"],
            "updated_at": r.json()["updated_at"],
        }
        assert contact.user == user_a

    def test_a_phone_number_alone_is_enough(self, client_a):
        r = client_a.post(URL, {"name": "Dad", "phone_number": "0612345678"}, format="json")

        assert r.status_code == 201
        assert r.json()["notify_on_critical"] is False

    def test_a_contact_told_by_sms_needs_only_an_international_phone_number(self, client_a):
        body = {"name": "Dad", "phone_number": "+33 6 12 34 56 78", "notify_on_critical": True}

        r = client_a.post(URL, body, format="json")

        assert r.status_code == 201
        assert (r.json()["email"], r.json()["notify_on_critical"]) == ("", True)
        assert EmergencyContact.objects.get().phone_number == "+33 6 12 34 56 78"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "Nobody"}, "non_field_errors"),
            ({"name": "Dad", "phone_number": "0612345678", "notify_on_critical": True}, "phone_number"),
            ({"name": "Dad", "phone_number": "call me maybe"}, "phone_number"),
            ({"name": "Dad", "email": "not-an-address"}, "email"),
            ({"email": "dad@example.net"}, "name"),
            ({**ANA, "name": "x" * 121}, "name"),
        ],
        ids=["no-way-to-reach", "notify-by-sms-to-a-national-number", "bad-phone", "bad-email", "no-name", "long-name"],
    )
    def test_invalid_input_answers_a_validation_error(self, client_a, body, field):
        r = client_a.post(URL, body, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"
        assert field in r.json()["error"]["fields"]
        assert not EmergencyContact.objects.exists()

    def test_a_person_has_at_most_ten_contacts(self, client_a, user_a):
        EmergencyContactFactory.create_batch(MAX_EMERGENCY_CONTACTS, user=user_a)

        r = client_a.post(URL, ANA, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["fields"] == {"non_field_errors": ["At most 10 emergency contacts."]}


class TestReadUpdateDelete:
    def test_it_lists_only_my_contacts(self, client_a, user_a, user_b, django_assert_max_num_queries):
        mine = EmergencyContactFactory.create_batch(3, user=user_a)
        EmergencyContactFactory(user=user_b)

        with django_assert_max_num_queries(5):
            r = client_a.get(URL)

        assert r.json()["count"] == 3
        assert [c["id"] for c in r.json()["results"]] == [str(c.pk) for c in mine]

    def test_it_updates_a_contact_partially(self, client_a, user_a):
        contact = EmergencyContactFactory(user=user_a, notify_on_critical=False)

        r = client_a.patch(f"{URL}{contact.pk}/", {"notify_on_critical": True}, format="json")

        assert r.status_code == 200 and r.json()["notify_on_critical"] is True
        contact.refresh_from_db()
        assert contact.notify_on_critical is True

    def test_a_partial_update_is_checked_against_the_stored_contact(self, client_a, user_a):
        contact = EmergencyContactFactory(user=user_a, phone_number="0612345678", notify_on_critical=True)

        r = client_a.patch(f"{URL}{contact.pk}/", {"email": ""}, format="json")

        assert r.status_code == 400
        assert "phone_number" in r.json()["error"]["fields"]
        contact.refresh_from_db()
        assert contact.email != ""

    def test_removing_the_address_of_a_contact_with_an_international_number_is_fine(self, client_a, user_a):
        contact = EmergencyContactFactory(user=user_a, phone_number="+351 912 345 678", notify_on_critical=True)

        r = client_a.patch(f"{URL}{contact.pk}/", {"email": ""}, format="json")

        assert r.status_code == 200 and r.json()["email"] == ""
        contact.refresh_from_db()
        assert contact.email == ""

    def test_it_replaces_a_contact(self, client_a, user_a):
        contact = EmergencyContactFactory(user=user_a)

        r = client_a.put(f"{URL}{contact.pk}/", {**ANA, "name": "Ana L."}, format="json")

        assert r.status_code == 200 and r.json()["name"] == "Ana L."

    def test_it_deletes_a_contact(self, client_a, user_a):
        contact = EmergencyContactFactory(user=user_a)

        assert client_a.delete(f"{URL}{contact.pk}/").status_code == 204
        assert not EmergencyContact.objects.exists()

    @pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
    def test_another_persons_contact_is_404(self, client_a, user_b, method):
        contact = EmergencyContactFactory(user=user_b, name="Theirs")

        r = getattr(client_a, method)(f"{URL}{contact.pk}/", {"name": "Mine now"}, format="json")

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert EmergencyContact.objects.get(pk=contact.pk).name == "Theirs"
