"""Test settings: the base settings with fast password hashing and tasks run in-process.

`DATABASE_URL` and `REDIS_URL` still choose the real stack (CI sets both). Tests about the worker start a real
Celery worker against Redis themselves.
"""

import os
import uuid

from .base import *  # noqa: F403
from .base import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS, REDIS_URL, REST_FRAMEWORK

# Argon2 is first in production; tests that are about hashing override this list.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# The suite touches only the Redis database REDIS_URL names, and in it only keys of its own: every run (and every
# xdist worker) has a prefix for its cache and for the worker tests' broker, and clearing the cache between tests
# deletes that prefix's keys (ResilientRedisCache.clear), never the database: others may be using it.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
TEST_REDIS_PREFIX = f"jegtest-{_worker}-{uuid.uuid4().hex[:8]}"
CACHE_KEY_PREFIX = TEST_REDIS_PREFIX
CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX
CELERY_BROKER_KEY_PREFIX = f"{TEST_REDIS_PREFIX}-broker-"
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": CELERY_BROKER_KEY_PREFIX}

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "auth": "1000/min",
        "anon": "10000/min",
        "user": "100000/min",
        "device": "100000/min",
        "device_verify": "100000/min",
    },
}
AXES_FAILURE_LIMIT = 5
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
