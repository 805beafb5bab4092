"""Device API keys and pairing codes: made from `secrets`, stored only as hashes.

A key reads `jegd_<prefix>_<secret>`: the 12-character prefix finds the device with one indexed look-up, the
secret is 32 random bytes. Only SHA-256 of the whole key is stored. A fast hash is right here (unlike passwords):
the secret has 256 bits of entropy, so there is nothing to brute-force, and a slow hasher would cost every
device request tens of milliseconds (SECURITY-CHECKLIST C9).

Pairing codes are short (8 digits, typed by a person), so they are stored as an HMAC keyed with SECRET_KEY:
a leaked table alone does not let anyone try the 10^8 codes offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.crypto import salted_hmac

KEY_PREFIX_TAG = "jegd"
PREFIX_LENGTH = 12
SECRET_BYTES = 32
VERIFICATION_CODE_DIGITS = 8


@dataclass(frozen=True)
class NewKey:
    raw: str
    prefix: str
    hashed: str


def key_generate() -> NewKey:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    raw = f"{KEY_PREFIX_TAG}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(raw=raw, prefix=prefix, hashed=key_hash(raw))


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_prefix(raw: str) -> str | None:
    """The look-up prefix of RAW, or None when RAW is not shaped like one of our keys."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX_TAG or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


def key_matches(raw: str, stored_hash: str) -> bool:
    # Constant-time: the comparison must not tell an attacker how much of a guessed hash was right.
    return bool(stored_hash) and hmac.compare_digest(key_hash(raw), stored_hash)


def key_expires_at(issued_at: datetime | None) -> datetime | None:
    """When a key issued (or rotated) at ISSUED_AT stops working; None when keys do not expire. Derived from the
    setting, not stored: shortening IOT_API_KEY_LIFETIME_DAYS (after an incident) applies to every key at once."""
    days = settings.IOT_API_KEY_LIFETIME_DAYS
    if not days or issued_at is None:
        return None
    return issued_at + timedelta(days=days)


def verification_code_generate() -> str:
    return f"{secrets.randbelow(10**VERIFICATION_CODE_DIGITS):0{VERIFICATION_CODE_DIGITS}d}"


def verification_code_hash(*, device_id: str, code: str) -> str:
    return salted_hmac("iot_devices.verification_code", f"{device_id}:{code}", algorithm="sha256").hexdigest()


def verification_code_matches(*, device_id: str, code: str, stored_hash: str) -> bool:
    expected = verification_code_hash(device_id=device_id, code=code)
    return bool(stored_hash) and hmac.compare_digest(expected, stored_hash)
