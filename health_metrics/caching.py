"""Per-person cache of reads (latest values, summaries), invalidated by a version key bumped on every write.

Cached entries are keyed by the person's current version; `bump` (called after commit by `metrics_changed`)
gives the person a new version, so the next read misses and recomputes: a write is visible in the next read.
Versions are random, never counters, so a version key lost to eviction can never come back as an old value
whose entries are still cached. The cache is an accelerator: when it is unreachable, reads compute directly.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# A backstop: even a lost bump cannot serve a stale answer for longer than this.
TIMEOUT_SECONDS = 300
VERSION_TIMEOUT_SECONDS = 7 * 24 * 3600
_CACHE_ERRORS = (RedisError, OSError)


def _version_key(user_id) -> str:
    return f"hm:v:{user_id}"


def bump(user_id) -> None:
    try:
        cache.set(_version_key(user_id), uuid.uuid4().hex, VERSION_TIMEOUT_SECONDS)
    except _CACHE_ERRORS:
        logger.warning("health_metrics_cache_bump_failed", extra={"user_id": str(user_id)})


def cached(user_id, name: str, params: tuple, compute: Callable[[], Any]) -> Any:
    """COMPUTE's result for this person, NAME and PARAMS, from the cache while the person's data is unchanged."""
    try:
        version = cache.get(_version_key(user_id))
        if version is None:
            cache.add(_version_key(user_id), uuid.uuid4().hex, VERSION_TIMEOUT_SECONDS)
            version = cache.get(_version_key(user_id))
    except _CACHE_ERRORS:
        return compute()
    if version is None:
        return compute()
    digest = hashlib.sha256(repr(params).encode()).hexdigest()[:32]
    key = f"hm:{name}:{user_id}:{version}:{digest}"
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
        logger.warning("health_metrics_cache_set_failed", extra={"user_id": str(user_id)})
    return value
