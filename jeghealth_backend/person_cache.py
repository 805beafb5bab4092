"""The per-person cache of reads (latest values, summaries, the dashboard), and "this person's data changed".

Every app whose data a cached read shows (readings, targets, medications, appointments, notifications, devices,
alerts) calls `person_data_changed(user_id)` after a write; it gives the person a new cache version once the
writing transaction commits, so the next read misses and recomputes: a write is visible in the next read.

It lives on the ground floor so that no app has to import the app that reads the cache (reports) to say that its
data changed. Versions are random, never counters, so a version key lost to eviction can never come back as an
old value whose entries are still cached. The cache is an accelerator: when it is unreachable, reads compute
directly, and a lost bump is bounded by TIMEOUT_SECONDS.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from .replica import note_write

logger = logging.getLogger(__name__)

# A backstop: even a lost bump cannot serve a stale answer for longer than this. It also bounds how long a
# time-driven state (a dose turning missed, an appointment passing) can lag in a cached read.
TIMEOUT_SECONDS = 300
VERSION_TIMEOUT_SECONDS = 7 * 24 * 3600
_CACHE_ERRORS = (RedisError, OSError)


def _version_key(user_id) -> str:
    return f"person:v:{user_id}"


def person_data_changed(user_id) -> None:
    """Invalidate USER_ID's cached reads once the current transaction commits (at once outside one).

    Waiting for the commit matters: a read between an earlier bump and the commit would cache the old data under
    the new version.
    """
    transaction.on_commit(lambda: _changed(user_id))


def _changed(user_id) -> None:
    _bump(user_id)
    # Their next reads use the primary for a few seconds: the replica may not have the write yet.
    note_write(user_id)


def _bump(user_id) -> None:
    try:
        cache.set(_version_key(user_id), uuid.uuid4().hex, VERSION_TIMEOUT_SECONDS)
    except _CACHE_ERRORS:
        logger.warning("person_cache_bump_failed", extra={"user_id": str(user_id)})


def _version(user_id) -> str | None:
    try:
        version = cache.get(_version_key(user_id))
        if version is None:
            cache.add(_version_key(user_id), uuid.uuid4().hex, VERSION_TIMEOUT_SECONDS)
            version = cache.get(_version_key(user_id))
    except _CACHE_ERRORS:
        return None
    return version


def cached(user_id, name: str, params: tuple, compute: Callable[[], Any]) -> Any:
    """COMPUTE's result for this person, NAME and PARAMS, from the cache while the person's data is unchanged."""
    version = _version(user_id)
    if version is None:
        return compute()
    digest = hashlib.sha256(repr(params).encode()).hexdigest()[:32]
    key = f"person:{name}:{user_id}:{version}:{digest}"
    try:
        hit = cache.get(key)
    except _CACHE_ERRORS:
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(key, value, TIMEOUT_SECONDS)
    except _CACHE_ERRORS:
        logger.warning("person_cache_set_failed", extra={"user_id": str(user_id)})
    return value
