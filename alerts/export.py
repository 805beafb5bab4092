"""The alerts part of a person's export (`GET auth/export/`), oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .models import AlertEpisode, AlertThreshold


def export_sections(user) -> Iterator[tuple[str, Iterable[dict]]]:
    yield (
        "alert_thresholds",
        (
            {
                "id": str(t.pk),
                "metric_type": t.metric_type,
                "min_value": t.min_value,
                "max_value": t.max_value,
                "diastolic_min_value": t.diastolic_min_value,
                "diastolic_max_value": t.diastolic_max_value,
                "severity": t.severity,
                "created_at": t.created_at,
            }
            for t in AlertThreshold.objects.filter(user=user).order_by("created_at", "id").iterator()
        ),
    )
    yield (
        "alert_episodes",
        (
            {
                "id": str(e.pk),
                "rule": e.rule,
                "metric_type": e.metric_type or None,
                "subject": e.subject_key or None,
                "severity": e.severity,
                "status": e.status,
                "opened_at": e.opened_at,
                "closed_at": e.closed_at,
                "close_reason": e.close_reason,
                "reading_count": e.reading_count,
                "worst": e.worst,
                "last_reading_at": e.last_reading_at,
                "acknowledged_by": e.acknowledged_by_name or None,
                "acknowledged_at": e.acknowledged_at,
                "escalated_at": e.escalated_at,
                "readings": [
                    str(r) for r in e.reading_links.order_by("recorded_at").values_list("reading_id", flat=True)
                ],
            }
            for e in AlertEpisode.objects.filter(user=user).order_by("opened_at", "id").iterator(chunk_size=200)
        ),
    )
