"""Reads of reports, scoped to their owner: another person's report, like an expired one, is simply absent (404)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Report


def report_list(*, user, now: datetime | None = None) -> QuerySet[Report]:
    """USER's reports that have not expired, newest first."""
    return (
        Report.objects.filter(user=user, expires_at__gt=now or timezone.now())
        .select_related("patient")
        .order_by("-created_at", "-id")
    )


def report_get(*, user, report_id) -> Report:
    return get_object_or_404(report_list(user=user), pk=report_id)
