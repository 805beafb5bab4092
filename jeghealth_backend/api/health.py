"""Liveness and readiness: the database, the cache and the broker, each checked with a short timeout.

Only the database is fatal (503): with Redis down people and devices are still served from PostgreSQL (throttles
and cached reads on a per-process fallback, uploads kept in their table until the broker is back), so the answer
stays 200 and says `degraded`."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import envelope
from .schema import ErrorDetailSerializer

logger = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.warning("health_database_down", exc_info=True)
        return "error"


def check_cache() -> str:
    """`ok`; `fallback` while Redis is down and each process serves throttles and cached reads from its own
    memory (jeghealth_backend.cache); `error` when the cache does not work at all."""
    ping = getattr(cache, "ping", None)
    if ping is not None and not ping():
        logger.warning("health_cache_on_local_fallback")
        return "fallback"
    try:
        cache.set("health:ping", "1", 10)
        return "ok" if cache.get("health:ping") == "1" else "error"
    except Exception:
        logger.warning("health_cache_down", exc_info=True)
        return "error"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from jeghealth_backend.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        logger.warning("health_broker_down", exc_info=True)
        return "error"


class HealthView(APIView):
    """`ok` when everything answers, `degraded` (200) when the cache or broker does not, 503 when the database
    does not."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(choices=["ok", "degraded", "error"]),
                    "checks": serializers.DictField(child=serializers.CharField()),
                },
            ),
            503: inline_serializer(
                "HealthDown",
                {
                    "status": serializers.ChoiceField(choices=["ok", "degraded", "error"]),
                    "checks": serializers.DictField(child=serializers.CharField()),
                    "error": ErrorDetailSerializer(),
                },
            ),
        },
        tags=["health"],
    )
    def get(self, request):
        checks = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
        if checks["database"] != "ok":
            # Both shapes: probes read `status` and `checks`, and under /api/ every error is the envelope.
            body = {"status": "error", "checks": checks, **envelope("service_unavailable", "The database is down.")}
            return Response(body, status=503)
        degraded = any(value not in ("ok", "eager") for value in checks.values())
        return Response({"status": "degraded" if degraded else "ok", "checks": checks})
