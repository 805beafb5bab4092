"""The CSV report: every reading of the report's period (local days of the person's calendar, both included)
and metric types, oldest first, in the columns of the CSV export."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import IO

from health_metrics import selectors as metric_selectors
from health_metrics.periods import local_midnight

from ..interop.csv_export import csv_blocks
from ..models import Report
from .base import ReportFormat


class CsvFormat(ReportFormat):
    name = "csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def render(self, *, report: Report, out: IO[bytes], now: datetime) -> None:
        tz = report.subject.profile.tzinfo
        readings = metric_selectors.metric_queryset(user=report.subject).filter(
            recorded_at__gte=local_midnight(report.start_date, tz),
            recorded_at__lt=local_midnight(report.end_date + timedelta(days=1), tz),
        )
        if report.metric_types:
            readings = readings.filter(metric_type__in=report.metric_types)
        for block in csv_blocks(readings.order_by("recorded_at", "id")):
            out.write(block)
