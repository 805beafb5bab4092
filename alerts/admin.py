"""Episodes and thresholds in the Django admin: read-only episodes (the rules own them), audited like every
admin view of a person's data (accounts/admin_audit.py)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_audit import AuditedAdminMixin
from jeghealth_backend.admin_display import short_id

from .models import AlertEpisode, AlertThreshold


@admin.register(AlertEpisode)
class AlertEpisodeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "alert_episode"
    audit_owner_field = "user"
    list_display = [
        short_id,
        "user",
        "rule",
        "metric_type",
        "subject_label",
        "severity",
        "status",
        "opened_at",
        "escalated_at",
    ]
    list_filter = ["rule", "severity", "status"]
    search_fields = ["id", "user__email"]
    date_hierarchy = "opened_at"
    list_select_related = ["user"]
    readonly_fields = [f.name for f in AlertEpisode._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertThreshold)
class AlertThresholdAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "alert_threshold"
    audit_owner_field = "user"
    list_display = [short_id, "user", "metric_type", "severity", "min_value", "max_value", "updated_at"]
    list_filter = ["metric_type", "severity"]
    search_fields = ["id", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["id", "created_at", "updated_at"]
