"""Liveness and readiness: the database, the cache and the broker, each checked with a short timeout."""

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
    """`ok` when the database answers; 503 when it does not. Cache and broker are reported, not fatal."""

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
        degraded = any(value == "error" for value in checks.values())
        return Response({"status": "degraded" if degraded else "ok", "checks": checks})
