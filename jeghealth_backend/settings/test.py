"""Test settings: the base settings with fast password hashing and tasks run in-process.

`DATABASE_URL` and `REDIS_URL` still choose the real stack (CI sets both). Tests about the worker start a real
Celery worker against Redis themselves.
"""

import os

from .base import *  # noqa: F403
from .base import CACHES, REDIS_URL, REST_FRAMEWORK

# Argon2 is first in production; tests that are about hashing override this list.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Each xdist worker gets its own Redis database: tests clear the cache (FLUSHDB) between them, and one worker's
# clear must never reset another's throttle counters mid-test.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
if REDIS_URL:
    _base = REDIS_URL.rsplit("/", 1)
    _db = int(_base[1]) if len(_base) == 2 and _base[1].isdigit() else 0
    _index = int(_worker[2:]) if _worker[2:].isdigit() else 0
    CACHES["default"]["LOCATION"] = f"{_base[0]}/{(_db + 1 + _index) % 16}"
CACHES["default"]["KEY_PREFIX"] = "jegtest-" + _worker

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
