"""What the OWASP modules share: clients with a bearer token, one call for any method, the routes they name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from rest_framework.test import APIClient

from tests.hardening.routes import (
    published_schema,
)

OPENAPI = published_schema()
ME = "/api/v1/auth/current-user/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
BATCHES = "/api/v1/devices/me/batches/"
# Throttle rates low enough to reach in a test (API4 and API6).
TIGHT = {"auth": "3/min", "anon": "3/min", "user": "3/min", "device": "3/min", "device_verify": "3/min"}
SOON = (datetime.now(UTC) + timedelta(days=40)).replace(hour=9, minute=0, second=0, microsecond=0).isoformat()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def call(client: APIClient, method: str, path: str, body: dict | None = None, **extra):
    if method in ("GET", "DELETE", "HEAD", "OPTIONS"):
        return client.generic(method, path, **extra)
    return client.generic(method, path, json.dumps(body or {}), content_type="application/json", **extra)
