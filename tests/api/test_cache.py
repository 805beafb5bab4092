"""The Redis cache (jeghealth_backend.cache): clearing it deletes only its own keys, and while Redis is down it
fails open to a per-process fallback. Against a throwaway redis-server of this module, never a shared one."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings as django_settings

from jeghealth_backend import cache as resilient
from jeghealth_backend.cache import ResilientRedisCache
from tests.conftest import clear_cache
from tests.servers import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (CI installs it)")

CACHE_DB = 3


@pytest.fixture(scope="module")
def server():
    started = RedisServer()
    started.start()
    yield started
    started.close()


@pytest.fixture
def live(server):
    """The server, running and empty, for this test."""
    if not server.ping():
        server.start()
    redis.Redis.from_url(server.url()).flushall()  # our own throwaway server
    return server


@pytest.fixture
def suite_cache(live, settings):
    """The suite's cache, configured as the settings configure it, but on the throwaway server's database 3."""
    settings.CACHES = {
        "default": {
            "BACKEND": "jeghealth_backend.cache.ResilientRedisCache",
            "LOCATION": live.url(CACHE_DB),
            "KEY_PREFIX": django_settings.CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    from django.core.cache import cache

    return cache


def standalone(server: RedisServer, prefix: str = "t") -> ResilientRedisCache:
    return ResilientRedisCache(
        server.url(CACHE_DB), {"KEY_PREFIX": prefix, "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
    )


class TestClearTouchesOnlyItsOwnKeys:
    def test_keys_of_another_database_of_the_same_redis_survive_the_cache_clearing_fixture(self, suite_cache, live):
        other_database = redis.Redis.from_url(live.url(CACHE_DB + 1))
        other_database.set("someone-else", "kept")
        suite_cache.set("mine", 1)

        clear_cache()  # what the autouse `_clean_cache` fixture runs around every test

        assert other_database.get("someone-else") == b"kept"
        assert suite_cache.get("mine") is None

    def test_keys_of_the_broker_and_other_prefixes_in_its_own_database_survive(self, suite_cache, live):
        same_database = redis.Redis.from_url(live.url(CACHE_DB))
        same_database.lpush("ingest", "a queued task")
        same_database.set("another-run:1:throttle", "3")
        suite_cache.set("mine", 1)

        clear_cache()

        assert same_database.lrange("ingest", 0, -1) == [b"a queued task"]
        assert same_database.get("another-run:1:throttle") == b"3"
        assert not [key for key in same_database.scan_iter() if key.startswith(suite_cache.key_prefix.encode())]

    def test_a_prefix_with_glob_characters_clears_only_itself(self, live):
        starred, plain = standalone(live, "a*"), standalone(live, "ab")
        starred.set("k", 1)
        plain.set("k", 2)

        starred.clear()

        assert (starred.get("k"), plain.get("k")) == (None, 2)


class TestTheSuiteUsesOnlyTheRedisDatabaseItIsGiven:
    def test_the_test_settings_keep_redis_url_s_database_and_prefix_cache_and_broker(self):
        code = (
            "import json; from jeghealth_backend.settings import test as s; "
            "print(json.dumps([s.CACHES['default']['LOCATION'], s.CACHES['default']['KEY_PREFIX'], "
            "s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS.get('global_keyprefix')]))"
        )
        env = {"PATH": os.environ["PATH"], "REDIS_URL": "redis://127.0.0.1:6399/5", "PYTEST_XDIST_WORKER": "gw1"}

        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        location, prefix, broker, broker_prefix = json.loads(done.stdout)

        assert location == broker == "redis://127.0.0.1:6399/5"
        assert prefix.startswith("jegtest-gw1-")
        assert broker_prefix.startswith(prefix)


class TestFailingOpen:
    def test_reads_and_writes_are_served_by_the_fallback_while_redis_is_down(self, live):
        cache = standalone(live)
        cache.set("before", "redis")
        live.stop()

        cache.set("during", "fallback")

        assert cache.get("during") == "fallback"
        assert cache.add("added", 1) is True
        assert cache.incr("added") == 2
        assert cache.get_many(["during", "added"]) == {"during": "fallback", "added": 2}
        assert cache.get("before") is None  # Redis's entries are out of reach; the caller recomputes

    def test_an_outage_is_logged_once_per_interval_not_per_operation(self, live, caplog):
        cache = standalone(live)
        live.stop()

        with caplog.at_level(logging.WARNING, logger="jeghealth_backend.cache"):
            for _ in range(50):
                cache.get("k")
                cache._suspended_until = 0  # as if each call came after the retry pause

        assert [r.getMessage() for r in caplog.records] == ["cache_redis_unavailable_using_local_fallback"]

    def test_redis_is_left_alone_during_the_retry_pause(self, live, monkeypatch):
        cache = standalone(live)
        live.stop()
        cache.get("k")
        calls = []
        monkeypatch.setattr(cache._cache, "get", lambda *a: calls.append(a))

        cache.get("k")

        assert calls == []

    def test_redis_is_used_again_once_it_is_back(self, live, monkeypatch):
        monkeypatch.setattr(resilient, "RETRY_SECONDS", 0.0)
        cache = standalone(live)
        live.stop()
        cache.set("k", "fallback")
        live.start()

        cache.set("k", "redis")

        assert redis.Redis.from_url(live.url(CACHE_DB)).exists(cache.make_key("k")) == 1
        assert cache.get("k") == "redis"

    def test_a_missing_key_still_raises_on_incr(self, live):
        with pytest.raises(ValueError):
            standalone(live).incr("never-set")

    def test_ping_reports_redis_itself(self, live):
        cache = standalone(live)
        assert cache.ping() is True
        live.stop()

        assert cache.ping() is False
        assert cache.redis_suspended()
