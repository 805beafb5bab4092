"""Admin of readings (read-only: values change only through the API's validation), targets and rollups.

Each is a person's health data: listing, viewing, changing and deleting are audited (accounts.admin_audit).
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_audit import AuditedAdminMixin
from jeghealth_backend.admin_display import short_id

from . import services
from .fields import ADMIN_LIST_FIELDS
from .models import HealthMetric, HealthMetricSummary, HealthMetricTarget


@admin.register(HealthMetric)
class HealthMetricAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "health_metric"
    audit_owner_field = "user"

    list_display = [short_id, "user", *ADMIN_LIST_FIELDS]
    list_filter = ["metric_type", "source", "is_anomaly", "quality", ("recorded_at", admin.DateFieldListFilter)]
    date_hierarchy = "recorded_at"
    search_fields = ["user__email", "id"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "device"]
    ordering = ["-recorded_at"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def perform_delete(self, request, obj) -> None:
        services.metric_delete(metric=obj)

    def perform_delete_queryset(self, request, queryset) -> None:
        for metric in queryset:
            services.metric_delete(metric=metric)


@admin.register(HealthMetricTarget)
class HealthMetricTargetAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "health_metric_target"
    audit_owner_field = "user"

    list_display = [
        short_id,
        "user",
        "metric_type",
        "target_type",
        "target_value",
        "min_value",
        "max_value",
        "period",
        "start_date",
        "end_date",
    ]
    list_filter = ["metric_type", "target_type", "period"]
    search_fields = ["user__email", "id"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(HealthMetricSummary)
class HealthMetricSummaryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "health_metric_summary"
    audit_owner_field = "user"

    list_display = ["user", "metric_type", "period", "period_start", "tz_name", "count", "min", "max", "computed_at"]
    list_filter = ["metric_type", "period", ("period_start", admin.DateFieldListFilter)]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
