"""Gunicorn for `make run`, the Dockerfile and compose. Tuned by the environment or `.env` (as the settings are):
WEB_CONCURRENCY, GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_MAX_REQUESTS, GUNICORN_LOG_LEVEL,
FORWARDED_ALLOW_IPS."""

import os
from pathlib import Path

import environ

# The environment wins over `.env`, as in the settings; without this `make run` would ignore `.env` here.
environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# A slow request is killed after this; the 5,000-reading batch upload is far below it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On SIGTERM, workers finish the requests in flight for this long before they are stopped.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then so that a slow leak can never take the service down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
