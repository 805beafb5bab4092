"""Admin for support: notifications with their deliveries, and the person's notification settings.

Deliveries are read-only here (the engine owns their state); failed ones can be given fresh attempts through
the service. Push tokens are shown by id only: a token is a credential for pushing to somebody's phone.
Everything here is a person's data: listing, viewing, changing, requeueing and deleting are audited for the person
(accounts.admin_audit).
"""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin_audit import AuditedAdminMixin
from accounts.choices import AuditAction
from jeghealth_backend.admin_display import short_column, short_id

from . import services
from .models import (
    EmergencyContact,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    PushToken,
    QuietHours,
)

DELIVERY_FIELDS = [
    "channel",
    "contact",
    "status",
    "attempts",
    "last_error",
    "provider_id",
    "not_before",
    "enqueued_at",
    "lease_expires_at",
    "sent_at",
    "created_at",
]


class DeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    extra = 0
    can_delete = False
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "notification"
    audit_owner_field = "recipient"
    list_display = [short_id, "recipient", "category", "severity", "title", "is_read", "in_app", "created_at"]
    list_filter = ["category", "severity", "is_read", "in_app"]
    search_fields = ["id", "recipient__email", "dedupe_key"]
    raw_id_fields = ["recipient"]
    readonly_fields = ["id", "created_at", "read_at"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "notification_delivery"
    audit_owner_field = "notification__recipient"
    list_display = [
        short_id,
        short_column("notification_id", "notification"),
        "channel",
        "status",
        "attempts",
        "last_error",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["id", "notification__id", "provider_id"]
    raw_id_fields = ["notification", "contact"]
    readonly_fields = ["id", "notification", "provider_receipts", "updated_at", *DELIVERY_FIELDS]
    actions = ["requeue"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send the selected failed deliveries again")
    def requeue(self, request, queryset):
        self.audit_objects(request, queryset, AuditAction.UPDATE)
        count = services.deliveries_requeue(delivery_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} failed deliveries queued again.", messages.SUCCESS)


@admin.register(PushToken)
class PushTokenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "push_token"
    audit_owner_field = "user"
    list_display = [short_id, "user", "platform", "is_active", "last_used_at", "created_at"]
    list_filter = ["platform", "is_active"]
    search_fields = ["id", "user__email"]
    raw_id_fields = ["user"]
    exclude = ["token"]
    readonly_fields = ["id", "last_used_at", "created_at", "updated_at"]


@admin.register(EmergencyContact)
class EmergencyContactAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "emergency_contact"
    audit_owner_field = "user"
    list_display = [short_id, "user", "name", "relationship", "notify_on_critical", "created_at"]
    list_filter = ["notify_on_critical"]
    # Name and e-mail are encrypted (no SQL lookups on them): a contact is found by its person.
    search_fields = ["id", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "notification_preference"
    audit_owner_field = "user"
    list_display = ["user", "category", "in_app", "email", "push", "updated_at"]
    list_filter = ["category"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(QuietHours)
class QuietHoursAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "quiet_hours"
    audit_owner_field = "user"
    list_display = ["user", "start", "end", "updated_at"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
