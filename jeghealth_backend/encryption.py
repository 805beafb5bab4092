"""Authenticated encryption at rest for the most sensitive free text (Fernet: AES-128-CBC + HMAC-SHA256).

`EncryptedTextField` stores ciphertext in a text column and hands plaintext to Python. Keys come from
`FIELD_ENCRYPTION_KEYS` (the first encrypts, all decrypt), so rotation is: put the new key first, keep the old
ones listed, run `manage.py reencrypt_fields`, then drop the old keys. A value that no listed key can decrypt
raises instead of passing garbage along. Encrypted columns are never filtered or sorted on (the ciphertext is
randomised), so lookups on them are refused.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.db import models

PREFIX = "fernet:"


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(("jeghealth-field-encryption:" + settings.SECRET_KEY).encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        # Rows written before the column was encrypted; `reencrypt_fields` converts them.
        return stored
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("An encrypted value could not be decrypted with any configured key.") from exc


def rotate(stored: str) -> str:
    """The same plaintext under the current key (plain legacy values get encrypted)."""
    if not stored.startswith(PREFIX):
        return encrypt(stored)
    return PREFIX + fernet().rotate(stored[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A TextField whose column holds Fernet ciphertext. Empty strings stay empty (nothing to hide)."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


@checks.register(checks.Tags.security, deploy=True)
def check_encryption_keys(app_configs, **kwargs):
    if settings.FIELD_ENCRYPTION_KEYS:
        for key in settings.FIELD_ENCRYPTION_KEYS:
            try:
                Fernet(key.encode())
            except ValueError:
                return [checks.Error("A key in FIELD_ENCRYPTION_KEYS is not a Fernet key.", id="jeghealth.E001")]
        return []
    return [
        checks.Warning(
            "FIELD_ENCRYPTION_KEYS is not set: encrypted fields use a key derived from SECRET_KEY.",
            hint="Generate one with Fernet.generate_key() from the cryptography package.",
            id="jeghealth.W001",
        )
    ]
