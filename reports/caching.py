"""The per-person cache of the dashboard, and the hook that invalidates it.

A cached dashboard is keyed by two versions of the person: health_metrics' (bumped after every write of a
reading, `health_metrics.caching.bump`, which `metrics_changed` calls) and this app's, bumped by
`dashboard_changed`. Apps whose data the dashboard shows (targets, medications, appointments, notifications,
devices) call `dashboard_changed(user_id)` after their writes commit; a new version makes the next read miss. A
missed bump is bounded by health_metrics' cache timeout (five minutes), which also bounds how long time-driven
states (a dose turning `missed`, an appointment passing) can lag. The cache is an accelerator: when it is
unreachable the dashboard is computed directly.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from health_metrics import caching as metrics_caching

logger = logging.getLogger(__name__)

VERSION_TIMEOUT_SECONDS = metrics_caching.VERSION_TIMEOUT_SECONDS
_CACHE_ERRORS = (RedisError, OSError)


def _version_key(user_id) -> str:
    return f"reports:dashboard:v:{user_id}"


def dashboard_changed(user_id) -> None:
    """Invalidate USER_ID's cached dashboard once the current transaction commits (at once outside one).

    For other apps' services, after a write of data the dashboard shows:
    `from reports.caching import dashboard_changed` then `dashboard_changed(user.pk)`.
    """
    transaction.on_commit(lambda: _bump(user_id))


def _bump(user_id) -> None:
    try:
        cache.set(_version_key(user_id), uuid.uuid4().hex, VERSION_TIMEOUT_SECONDS)
    except _CACHE_ERRORS:
        logger.warning("reports_dashboard_bump_failed", extra={"user_id": str(user_id)})


def _version(user_id) -> str | None:
    try:
        version = cache.get(_version_key(user_id))
        if version is None:
            # Random, never a counter: a version lost to eviction can never come back as one whose entries exist.
            cache.add(_version_key(user_id), uuid.uuid4().hex, VERSION_TIMEOUT_SECONDS)
            version = cache.get(_version_key(user_id))
    except _CACHE_ERRORS:
        return None
    return version


def cached_dashboard(user_id, params: tuple, compute: Callable[[], Any]) -> Any:
    """COMPUTE's result for USER_ID and PARAMS while neither the person's readings nor their other data changed."""
    version = _version(user_id)
    if version is None:
        return compute()
    return metrics_caching.cached(user_id, "reports-dashboard", (version, *params), compute)
