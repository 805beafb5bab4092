from django.contrib import admin

from accounts.admin_audit import AuditedAdminMixin
from jeghealth_backend.admin_display import short_id

from .models import Report


@admin.register(Report)
class ReportAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Read-only: reports are made by their owners and by the workers, never edited by hand. Audited: a report
    names the person's health data it summarises."""

    audit_resource_type = "report"
    audit_owner_field = "user"

    list_display = (short_id, "user", "report_type", "format", "status", "created_at", "expires_at")
    list_filter = ("status", "format", "report_type")
    search_fields = ("id", "user__email")
    date_hierarchy = "created_at"
    fields = (
        "id",
        "user",
        "report_type",
        "format",
        "start_date",
        "end_date",
        "metric_types",
        "status",
        "error",
        "file_name",
        "file_size",
        "attempts",
        "created_at",
        "started_at",
        "completed_at",
        "expires_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
