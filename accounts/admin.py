import logging

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .admin_audit import AuditedAdminMixin
from .audit import security_event_record
from .choices import SecurityEventType
from .models import AuditEvent, CareTeamGrant, Role, SecurityEvent, User, UserProfile, UserRole

logger = logging.getLogger(__name__)


class ProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False


class UserRoleInline(admin.TabularInline):
    model = UserRole
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["role"]
    readonly_fields = ["granted_by", "granted_at"]


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    """People, with their profile (health data: conditions, allergies, notes) inline; every page is audited."""

    audit_resource_type = "account"
    audit_owner_field = "pk"
    inlines = [ProfileInline, UserRoleInline]
    ordering = ["email"]
    list_display = ["email", "username", "first_name", "last_name", "is_email_verified", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser", "is_email_verified", "user_roles__role"]
    search_fields = ["email", "username", "first_name", "last_name"]
    readonly_fields = ["id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["id", "email", "username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "phone_number", "date_of_birth"]}),
        ("Status", {"fields": ["is_active", "is_email_verified", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "username", "password1", "password2"]}),
    ]

    def audit_deleted(self, request, objects: list) -> None:
        # A person's audit rows go with the person (their erasure), so the deletion is kept as a security event
        # that names no one but by id.
        for user in objects:
            security_event_record(
                event_type=SecurityEventType.ACCOUNT_DELETED,
                identifier=str(user.pk),
                request=request,
                metadata={"deleted_by": str(request.user.pk), "via": "admin"},
            )
            logger.info("account_deleted", extra={"user_id": str(user.pk), "actor_id": str(request.user.pk)})

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if not change:
            # After the inlines, so that a profile filled in on the add page is the one kept.
            services.user_provision(user=form.instance)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: visible to admins, never added, changed or deleted through the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "resource_type", "resource_id", "actor", "patient", "ip_address"]
    list_filter = ["action", "resource_type"]
    search_fields = ["resource_id", "actor__email", "patient__email", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "patient"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "user", "identifier", "ip_address"]
    list_filter = ["event_type"]
    search_fields = ["user__email", "identifier"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]


@admin.register(CareTeamGrant)
class CareTeamGrantAdmin(admin.ModelAdmin):
    """Admins may revoke a grant (set revoked_at) on a patient's request; they never create one for them."""

    list_display = ["patient", "doctor", "scopes", "expires_at", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["patient__email", "doctor__email"]
    readonly_fields = ["patient", "doctor", "scopes", "created_at"]
    list_select_related = ["patient", "doctor"]

    def has_add_permission(self, request) -> bool:
        return False
