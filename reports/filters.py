"""Filters of the report list, and of the readings export (the reading list's filters, in the subject's calendar)."""

from __future__ import annotations

import django_filters

from health_metrics.filters import ReadingFilter

from .choices import ReportFormat, ReportStatus, ReportType
from .models import Report


class ReportFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices)
    format = django_filters.ChoiceFilter(choices=ReportFormat.choices)
    report_type = django_filters.ChoiceFilter(choices=ReportType.choices)

    class Meta:
        model = Report
        fields = ["status", "format", "report_type"]


class ExportFilter(ReadingFilter):
    """`metric_type, start_date, end_date, source, device, is_anomaly` exactly as on the reading list, except that
    local dates are read in the timezone of the person whose readings they are (a doctor's patient's)."""

    def __init__(self, *args, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self._subject_tz = tz

    def _tz(self):
        return self._subject_tz
