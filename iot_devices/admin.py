"""Admin for devices (with a revoke action), batches (read-only) and alerts. Writes go through the services.

All of it is a person's data (a batch holds the raw readings): listing, viewing, changing, the actions and
deleting are audited for the device's owner (accounts.admin_audit).
"""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin_audit import AuditedAdminMixin
from accounts.choices import AuditAction
from jeghealth_backend.admin_display import short_column

from . import services
from .models import DeviceAlert, DeviceDataBatch, IoTDevice


@admin.register(IoTDevice)
class IoTDeviceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "device"
    audit_owner_field = "owner"

    list_display = ["name", "device_type", "owner", "status", "is_verified", "last_seen_at", "battery_level"]
    list_filter = ["status", "device_type", "is_verified"]
    search_fields = ["name", "serial_number", "owner__email", "key_prefix"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = [
        "id",
        "status",
        "is_verified",
        "verified_at",
        "key_prefix",
        "key_rotated_at",
        "key_expires_at",
        "last_used_at",
        "verification_attempts",
        "last_seen_at",
        "battery_level",
        "signal_strength",
        "created_at",
        "updated_at",
    ]
    fields = [
        "id",
        "owner",
        "name",
        "device_type",
        "manufacturer",
        "model",
        "serial_number",
        "firmware_version",
        "configuration",
        *readonly_fields[1:],
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        # Pairing hands out a key and a code once, to the owner: it happens in the API, not here.
        return False

    @admin.action(description="Revoke the selected devices (their keys stop working at once)")
    def revoke(self, request, queryset):
        devices = list(queryset)
        self.audit_objects(request, devices, AuditAction.UPDATE)
        for device in devices:
            services.device_revoke(device=device)
        count = len(devices)
        self.message_user(request, f"Revoked {count} device(s).", messages.SUCCESS)


@admin.register(DeviceDataBatch)
class DeviceDataBatchAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "device_batch"
    audit_owner_field = "device__owner"

    list_display = [
        short_column("device_batch_id", "batch"),
        "device",
        "status",
        "received_count",
        "accepted_count",
        "rejected_count",
        "received_at",
    ]
    list_filter = ["status"]
    search_fields = ["device_batch_id", "id", "device__serial_number"]
    list_select_related = ["device"]
    date_hierarchy = "received_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def get_queryset(self, request):
        # The raw payload (up to 5,000 readings) is loaded on the detail page only.
        qs = super().get_queryset(request)
        return qs if request.resolver_match and "object_id" in request.resolver_match.kwargs else qs.defer("payload")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeviceAlert)
class DeviceAlertAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "device_alert"
    audit_owner_field = "device__owner"

    list_display = ["alert_type", "severity", "device", "created_at", "is_resolved", "resolved_at"]
    list_filter = ["alert_type", "severity", "is_resolved"]
    search_fields = ["device__name", "device__serial_number"]
    list_select_related = ["device"]
    readonly_fields = ["id", "device", "alert_type", "severity", "message", "created_at", "is_resolved", "resolved_at"]
    actions = ["resolve"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Resolve the selected alerts")
    def resolve(self, request, queryset):
        alerts = list(queryset)
        self.audit_objects(request, alerts, AuditAction.UPDATE)
        for alert in alerts:
            services.alert_resolve(alert=alert)
        self.message_user(request, "Resolved.", messages.SUCCESS)
