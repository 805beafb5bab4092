"""The Redis cache, failing open to a per-process local-memory cache while Redis cannot be reached.

Throttle counters, the per-person read cache and the health ping live in the cache. A broker outage must refuse
nobody (API.md: a batch answered 202 reaches a final status even when the broker was down at upload), so an
operation that Redis cannot serve is served by a `LocMemCache` of this process instead: throttles keep counting,
per process, and cached reads are recomputed from PostgreSQL. After a failure Redis is left alone for
`RETRY_SECONDS`, so that an outage costs each request nothing (a Redis that is unreachable rather than refusing
would otherwise cost the connect timeout on every call); then the next operation tries it again, and once it
answers the fallback's entries are abandoned (a throttle window restarts, a cached read is recomputed).
Outages are logged once per `LOG_INTERVAL_SECONDS` per process, and `/api/v1/health/` reports them.

`clear()` deletes only this cache's own keys (those under its KEY_PREFIX), never the whole Redis database: the
database is shared with the Celery broker (and, in tests, with whoever else uses that Redis).
"""

from __future__ import annotations

import functools
import logging
import re
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
LOG_INTERVAL_SECONDS = 60.0
FALLBACK_MAX_ENTRIES = 10_000
CLEAR_BATCH = 500


def _failing_open(method):
    """Run METHOD on Redis; while Redis is unreachable, run the fallback's method of the same name instead."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not self.redis_suspended():
            try:
                return method(self, *args, **kwargs)
            except RedisError as exc:
                self._redis_failed(exc)
        return getattr(self.fallback, name)(*args, **kwargs)

    return wrapper


class ResilientRedisCache(RedisCache):
    """Django's RedisCache that fails open (see the module doc). The fallback uses the same key prefix and
    timeout; its size is bounded by FALLBACK_MAX_ENTRIES."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self.fallback = LocMemCache(
            f"resilient-fallback-{id(self)}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES},
            },
        )
        self._suspended_until = 0.0
        self._last_logged = float("-inf")
        self._failures = 0

    # --- state ------------------------------------------------------------------------------------------------
    def redis_suspended(self) -> bool:
        """True while a recent failure keeps operations on the fallback."""
        return time.monotonic() < self._suspended_until

    def _redis_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._suspended_until = now + RETRY_SECONDS
        self._failures += 1
        if now - self._last_logged >= LOG_INTERVAL_SECONDS:
            # Once per interval, not per request: an outage must not flood the logs.
            logger.warning(
                "cache_redis_unavailable_using_local_fallback",
                extra={"error": type(exc).__name__, "failures_since_last_log": self._failures},
            )
            self._last_logged = now
            self._failures = 0

    def ping(self) -> bool:
        """Ask Redis itself, ignoring the suspension (the health check); a success ends the suspension."""
        try:
            self._cache.get_client(None, write=True).ping()
        except RedisError as exc:
            self._redis_failed(exc)
            return False
        self._suspended_until = 0.0
        return True

    # --- the cache API ----------------------------------------------------------------------------------------
    add = _failing_open(RedisCache.add)
    get = _failing_open(RedisCache.get)
    set = _failing_open(RedisCache.set)
    touch = _failing_open(RedisCache.touch)
    delete = _failing_open(RedisCache.delete)
    get_many = _failing_open(RedisCache.get_many)
    has_key = _failing_open(RedisCache.has_key)
    incr = _failing_open(RedisCache.incr)
    set_many = _failing_open(RedisCache.set_many)
    delete_many = _failing_open(RedisCache.delete_many)

    def clear(self) -> bool:
        """Delete this cache's keys (KEY_PREFIX) from Redis and from the fallback; other keys of the database
        (the broker's queues, other prefixes) are left alone."""
        self.fallback.clear()
        # Django's keys are "<KEY_PREFIX>:<version>:<key>"; the prefix is escaped for SCAN's glob pattern.
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.key_prefix) + ":*"
        try:
            client = self._cache.get_client(None, write=True)
            batch = []
            for key in client.scan_iter(match=pattern, count=CLEAR_BATCH):
                batch.append(key)
                if len(batch) >= CLEAR_BATCH:
                    client.unlink(*batch)
                    batch.clear()
            if batch:
                client.unlink(*batch)
        except RedisError as exc:
            self._redis_failed(exc)
            return False
        return True
