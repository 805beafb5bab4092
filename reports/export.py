"""The reports part of a person's export (`GET auth/export/`): the reports they requested (not the files)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .models import Report


def export_sections(user) -> Iterator[tuple[str, Iterable[dict]]]:
    reports = Report.objects.filter(user=user).order_by("created_at", "id")
    yield (
        "reports",
        (
            {
                "id": str(r.pk),
                "report_type": r.report_type,
                "format": r.format,
                "start_date": r.start_date,
                "end_date": r.end_date,
                "metric_types": r.metric_types,
                "status": r.status,
                "created_at": r.created_at,
                "completed_at": r.completed_at,
                "expires_at": r.expires_at,
            }
            for r in reports.iterator()
        ),
    )
