"""Which database a lag-tolerant read uses: the read replica (`DATABASE_REPLICA_URL`) unless the person wrote lately.

A view that serves lag-tolerant reads (lists, summaries, exports, the dashboard, FHIR) opens `lag_tolerant_reads`
for the people the request is about; the router (db_router.py) then sends its reads to `replica`. Every write goes
to the primary, and so does every read of a person who wrote within `REPLICA_READ_AFTER_WRITE_SECONDS`: their own
write is visible to them at once, whatever the replica's lag. "Wrote" is `person_data_changed`, which every app
calls after a write of a person's data (manual entry, device batches, imports, …), remembered in the cache
(shared by every web process and worker) for that many seconds.

Reads inside a transaction stay on the primary (they may be about to write what they read), and so does everything
outside such a view (authentication, tasks, the admin). Without a replica nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

REPLICA = "replica"
_read_alias: ContextVar[str | None] = ContextVar("jeg_read_alias", default=None)
_CACHE_ERRORS = (RedisError, OSError)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _key(user_id) -> str:
    return f"replica:wrote:{user_id}"


def note_write(user_id) -> None:
    """USER_ID's data was just written (committed): their reads use the primary for the next few seconds."""
    if not replica_configured():
        return
    try:
        cache.set(_key(user_id), 1, settings.REPLICA_READ_AFTER_WRITE_SECONDS)
    except _CACHE_ERRORS:
        logger.warning("replica_note_write_failed", extra={"user_id": str(user_id)})


def wrote_recently(user_ids: Iterable) -> bool:
    keys = [_key(user_id) for user_id in user_ids]
    try:
        return bool(keys) and bool(cache.get_many(keys))
    except _CACHE_ERRORS:
        return True  # cannot tell: the primary is always right


def use_replica_for(user_ids: Iterable) -> bool:
    """Whether a lag-tolerant read about USER_IDS may use the replica now."""
    return replica_configured() and not wrote_recently(user_ids)


def start_lag_tolerant_reads(user_ids: Iterable) -> bool:
    """Send this thread's reads to the replica, unless one of USER_IDS wrote lately; returns whether it does.
    Undone by `end_lag_tolerant_reads` (and at the start of every request: signals in apps.py)."""
    if not use_replica_for(list(user_ids)):
        return False
    _read_alias.set(REPLICA)
    return True


def end_lag_tolerant_reads(**_signal) -> None:
    _read_alias.set(None)


def read_alias() -> str | None:
    """The alias for a read now: `replica` inside lag-tolerant reads and outside a transaction, else None."""
    alias = _read_alias.get()
    if alias is None or connections["default"].in_atomic_block:
        return None
    return alias
