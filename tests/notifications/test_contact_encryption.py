"""Emergency contacts' name, phone number and e-mail are encrypted at rest (checklist B4)."""

from __future__ import annotations

import importlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.test import override_settings

from jeghealth_backend import encryption
from notifications.models import EmergencyContact

from .factories import EmergencyContactFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/emergency-contacts/"
ANA = {"name": "Ana Sentinel-7c2e", "phone_number": "+351 912 345 678", "email": "ana.sentinel@example.net"}
COLUMNS = ("name", "phone_number", "email")


def raw_row(contact_id) -> dict[str, str]:
    key = contact_id.hex if connection.vendor == "sqlite" else contact_id
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, phone_number, email FROM notifications_emergencycontact WHERE id = %s",
            [key],
        )
        return dict(zip(COLUMNS, cursor.fetchone(), strict=True))


@pytest.fixture(autouse=True)
def _fresh_keys():
    encryption._fernet.cache_clear()
    yield
    encryption._fernet.cache_clear()


class TestAtRest:
    def test_the_columns_hold_ciphertext_and_the_api_answers_plaintext(self, client_a):
        r = client_a.post(URL, {**ANA, "notify_on_critical": True}, format="json")
        assert r.status_code == 201

        stored = raw_row(EmergencyContact.objects.get().pk)
        for column, plain in ANA.items():
            assert stored[column].startswith("fernet:") and plain not in stored[column]
            assert "sentinel" not in stored[column].lower()
        answer = client_a.get(f"{URL}{r.json()['id']}/").json()
        assert {column: answer[column] for column in COLUMNS} == ANA

    def test_an_empty_value_is_stored_empty_so_the_constraint_still_holds(self, user_a):
        contact = EmergencyContactFactory(user=user_a, email="", phone_number="+351 912 345 678")

        assert raw_row(contact.pk)["email"] == ""
        with pytest.raises(IntegrityError):
            EmergencyContact.objects.filter(pk=contact.pk).update(phone_number="")

    def test_reencrypt_fields_covers_the_contacts(self, user_a):
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
            contact = EmergencyContactFactory(user=user_a, **ANA)
            before = raw_row(contact.pk)
        with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
            call_command("reencrypt_fields", stdout=open("/dev/null", "w"))  # noqa: SIM115
            after = raw_row(contact.pk)
        assert all(after[column] != before[column] for column in COLUMNS)
        with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
            contact.refresh_from_db()
            assert (contact.name, contact.phone_number, contact.email) == tuple(ANA.values())


class TestDataMigration:
    """0004 encrypts the rows stored in plaintext before it, and writes the plaintext back when reversed."""

    migration = importlib.import_module("notifications.migrations.0004_encrypt_emergency_contacts")

    def _plaintext_row(self, user) -> EmergencyContact:
        contact = EmergencyContactFactory(user=user, **ANA)
        key = contact.pk.hex if connection.vendor == "sqlite" else contact.pk
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE notifications_emergencycontact SET name = %s, phone_number = %s, email = %s WHERE id = %s",
                [*ANA.values(), key],
            )
        return contact

    def test_forwards_it_encrypts_plaintext_rows(self, user_a):
        contact = self._plaintext_row(user_a)

        self.migration.encrypt(apps, None)

        stored = raw_row(contact.pk)
        assert all(stored[column].startswith("fernet:") for column in COLUMNS)
        contact.refresh_from_db()
        assert contact.name == ANA["name"]

    def test_backwards_it_writes_the_plaintext_back(self, user_a):
        contact = self._plaintext_row(user_a)
        self.migration.encrypt(apps, None)

        self.migration.decrypt(apps, None)

        assert raw_row(contact.pk) == ANA
