"""Admin of the catalog and interaction table (reference data), and of people's regimens and dose logs.

Regimens and dose logs are people's health data: viewing or changing one is audited for its owner. Their schedule,
quantities and states are read-only here, because they change through the services that keep the dose history,
the reminders and the refill alerts right.
"""

from django.contrib import admin

from accounts.admin_audit import AuditedAdminMixin
from jeghealth_backend.admin_display import short_column, short_id

from .models import DoseLog, DrugInteraction, Medication, MedicationCategory, Regimen


@admin.register(MedicationCategory)
class MedicationCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Medication)
class MedicationAdmin(admin.ModelAdmin):
    list_display = ["generic_name", "atc_code", "category", "pharmacological_class"]
    list_filter = ["category"]
    search_fields = ["generic_name", "atc_code", "pharmacological_class"]
    list_select_related = ["category"]
    readonly_fields = ["id"]


@admin.register(DrugInteraction)
class DrugInteractionAdmin(admin.ModelAdmin):
    list_display = ["a_value", "b_value", "severity", "source"]
    list_filter = ["severity", "a_kind", "b_kind"]
    search_fields = ["a_value", "b_value", "description", "source"]
    readonly_fields = ["id"]


# What the person would call cosmetic: names, strength and instructions. Everything else goes through services.
REGIMEN_EDITABLE = {"name", "dosage", "dosage_unit", "form", "instructions"}


@admin.register(Regimen)
class RegimenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "medication_regimen"
    audit_owner_field = "user"
    list_display = [short_id, "user", "name", "frequency", "start_date", "end_date", "is_active"]
    list_filter = ["is_active", "frequency"]
    search_fields = ["id", "user__email", "name"]
    raw_id_fields = ["user", "medication", "prescribed_by"]
    list_select_related = ["user"]
    fields = [
        "id",
        "user",
        "medication",
        "name",
        "dosage",
        "dosage_unit",
        "form",
        "instructions",
        "frequency",
        "interval_hours",
        "days_of_week",
        "schedule_times",
        "start_date",
        "end_date",
        "quantity_remaining",
        "quantity_per_dose",
        "refill_threshold",
        "refill_reminded_at",
        "prescribed_by",
        "is_active",
        "ended_at",
        "entered_at",
        "schedule_from",
        "missed_checked_through",
        "next_reminder_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [f for f in fields if f not in REGIMEN_EDITABLE]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DoseLog)
class DoseLogAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_resource_type = "medication_dose"
    audit_owner_field = "user"
    list_display = [short_id, "user", short_column("regimen_id", "regimen"), "scheduled_for", "status", "taken_at"]
    list_filter = ["status", "scheduled"]
    search_fields = ["id", "user__email", "regimen__id"]
    date_hierarchy = "scheduled_for"
    raw_id_fields = ["user", "regimen"]
    list_select_related = ["user", "regimen"]
    fields = ["id", "user", "regimen", "scheduled_for", "status", "taken_at", "scheduled", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
