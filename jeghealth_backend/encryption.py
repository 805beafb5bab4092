"""Authenticated encryption at rest for the most sensitive free text (Fernet: AES-128-CBC + HMAC-SHA256).

`EncryptedTextField` stores ciphertext in a text column and hands plaintext to Python. Keys come from
`FIELD_ENCRYPTION_KEYS` (the first encrypts, all decrypt), so rotation is: put the new key first, keep the old
ones listed, run `manage.py reencrypt_fields`, then drop the old keys. A value that no listed key can decrypt
raises instead of passing garbage along. Encrypted columns are never filtered or sorted on (the ciphertext is
randomised), so lookups on them are refused.

Without `FIELD_ENCRYPTION_KEYS` (development) the one key is derived from `SECRET_KEY`. Once keys are set, that
derived key is kept last as a decrypt-only fallback, so that setting the variable for the first time leaves the
rows written before readable; `reencrypt_fields` then moves them under the new key, after which
`FIELD_ENCRYPTION_SECRET_KEY_FALLBACK=0` drops the fallback.
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


def _derived_key(secret_key: str) -> str:
    derived = hashlib.sha256(("jeghealth-field-encryption:" + secret_key).encode()).digest()
    return base64.urlsafe_b64encode(derived).decode()


def _key(key: str | bytes) -> Fernet:
    return Fernet(key.encode() if isinstance(key, str) else key)


@functools.cache
def _fernet(keys: tuple[str, ...], secret_key_fallback: bool, secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([_key(_derived_key(secret_key))])
    # MultiFernet encrypts with the first key only: the derived key, last, only ever decrypts.
    fallback = [_key(_derived_key(secret_key))] if secret_key_fallback else []
    return MultiFernet([*(_key(key) for key in keys), *fallback])


def fernet() -> MultiFernet:
    """The keys in use: every configured one decrypts, the first encrypts (see the module docstring)."""
    return _fernet(
        tuple(settings.FIELD_ENCRYPTION_KEYS),
        bool(getattr(settings, "FIELD_ENCRYPTION_SECRET_KEY_FALLBACK", True)),
        settings.SECRET_KEY,
    )


def current_key() -> Fernet:
    """The key new values are encrypted with."""
    keys = settings.FIELD_ENCRYPTION_KEYS
    return _key(keys[0] if keys else _derived_key(settings.SECRET_KEY))


def is_under_current_key(stored: str) -> bool:
    """Whether STORED (a column's raw value) is ciphertext of the current key; empty values need no key."""
    if stored in (None, ""):
        return True
    if not stored.startswith(PREFIX):
        return False
    try:
        current_key().decrypt(stored[len(PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


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
            hint="Generate a key with Fernet.generate_key() from the cryptography package and set it. Rows "
            "written so far stay readable: the key derived from SECRET_KEY remains a decrypt-only fallback. Then "
            "run `manage.py reencrypt_fields`, which moves every row under the new key; once "
            "`reencrypt_fields --check` reports none left, FIELD_ENCRYPTION_SECRET_KEY_FALLBACK=0 drops the "
            "fallback.",
            id="jeghealth.W001",
        )
    ]
