"""Admin of provider profiles and appointments. Every page of an appointment, and every change or delete, is audited
for its patient (a provider profile for its doctor).

Status and times are read-only here: they change through the API's lifecycle services, which keep the history,
the reminders and the notices right.
"""

from django.contrib import admin

from accounts.admin_audit import AuditedAdminMixin
from jeghealth_backend.admin_display import TimezoneChoiceMixin, short_id

from .models import Appointment, AppointmentReschedule, ProviderProfile


@admin.register(ProviderProfile)
class ProviderProfileAdmin(TimezoneChoiceMixin, AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "provider_profile"
    audit_owner_field = "doctor"
    list_display = ["doctor", "specialty", "clinic_name", "consultation_minutes", "timezone", "updated_at"]
    list_filter = ["specialty", "timezone", "consultation_minutes"]
    search_fields = ["doctor__email", "doctor__first_name", "doctor__last_name", "specialty", "clinic_name"]
    raw_id_fields = ["doctor"]
    readonly_fields = ["created_at", "updated_at"]


class RescheduleInline(admin.TabularInline):
    model = AppointmentReschedule
    extra = 0
    can_delete = False
    fields = ["previous_start_time", "new_start_time", "rescheduled_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "appointment"
    audit_owner_field = "patient"
    list_display = [short_id, "start_time", "status", "appointment_type", "patient", "provider"]
    list_filter = ["status", "appointment_type", "start_time"]
    search_fields = ["id", "patient__email", "provider__email"]
    date_hierarchy = "start_time"
    raw_id_fields = ["patient", "provider", "cancelled_by"]
    list_select_related = ["patient", "provider"]
    inlines = [RescheduleInline]
    fields = [
        "id",
        "patient",
        "provider",
        "start_time",
        "end_time",
        "appointment_type",
        "status",
        "reason",
        "notes",
        "meeting_url",
        "cancellation_reason",
        "cancelled_by",
        "confirmed_at",
        "completed_at",
        "no_show_at",
        "cancelled_at",
        "slot_booked_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "id",
        "patient",
        "provider",
        "start_time",
        "end_time",
        "appointment_type",
        "status",
        "meeting_url",
        "cancelled_by",
        "confirmed_at",
        "completed_at",
        "no_show_at",
        "cancelled_at",
        "slot_booked_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        # Bookings go through the API's rules (working hours, overlaps, notices); the admin only corrects text.
        return False
