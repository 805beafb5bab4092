from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .care_team import care_grant_revoke
from .models import AuditEvent, CareTeamGrant, Role, SecurityEvent, User, UserProfile, UserRole


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
class UserAdmin(DjangoUserAdmin):
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
    list_display = ["created_at", "action", "resource_type", "resource_id", "actor_email", "patient", "ip_address"]
    list_filter = ["action", "resource_type"]
    search_fields = ["resource_id", "actor_email", "patient__email", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["patient"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "user", "identifier", "ip_address"]
    list_filter = ["event_type"]
    search_fields = ["user__email", "identifier"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]


@admin.register(CareTeamGrant)
class CareTeamGrantAdmin(admin.ModelAdmin):
    """Grants are the patient's: an admin reads them and, on the patient's request, revokes them; nothing else.

    Every field is read-only and the change form saves nothing (an admin once could clear `revoked_at` and
    silently undo a patient's revocation). Revocation goes only through `care_grant_revoke`, the same service as
    the patient's `DELETE care-team/{id}/`, and is recorded as a security event naming the admin.
    """

    list_display = ["id", "role", "patient", "grantee", "invited_email", "status", "expires_at", "revoked_at"]
    list_filter = ["role", "revoked_at"]
    search_fields = ["patient__email", "grantee__email", "invited_email"]
    fields = [
        "id",
        "role",
        "patient",
        "grantee",
        "invited_email",
        "scopes",
        "status",
        "created_at",
        "accepted_at",
        "expires_at",
        "invitation_expires_at",
        "revoked_at",
    ]
    readonly_fields = fields
    list_select_related = ["patient", "grantee"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_careteamgrant")

    @admin.display(description="Status")
    def status(self, grant: CareTeamGrant) -> str:
        return grant.status

    @admin.action(description="Revoke the selected grants (on the patient's request)", permissions=["revoke"])
    def revoke_selected(self, request, queryset) -> None:
        revoked = sum(care_grant_revoke(grant=grant, by=request.user, request=request) for grant in queryset)
        self.message_user(request, f"{revoked} grant(s) revoked.", messages.SUCCESS)
