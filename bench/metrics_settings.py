"""Settings of `metrics_bench.py`'s server: the deployed settings, plus a bare reference view, no cache (every
request computes its answer) and a fast password hasher for the bench's own accounts."""

from jeghealth_backend.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.metrics_urls"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
