import logging
from urllib.parse import urlencode

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html_join

from jeghealth_backend.admin_display import TimezoneChoiceMixin

from . import services
from .admin_audit import AuditedAdminMixin
from .audit import security_event_record
from .choices import SecurityEventType
from .models import AuditEvent, CareTeamGrant, Role, SecurityEvent, User, UserProfile, UserRole

logger = logging.getLogger(__name__)


class ProfileInline(TimezoneChoiceMixin, admin.StackedInline):
    model = UserProfile
    can_delete = False


# A person's data in the other apps' admins: (label, app, model, the field that names the person).
DATA_LINKS = [
    ("Readings", "health_metrics", "healthmetric", "user"),
    ("Devices", "iot_devices", "iotdevice", "owner"),
    ("Appointments", "appointments", "appointment", "patient"),
    ("Appointments as provider", "appointments", "appointment", "provider"),
    ("Medication regimens", "medications", "regimen", "user"),
    ("Dose logs", "medications", "doselog", "user"),
    ("Notifications", "notifications", "notification", "recipient"),
]


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
    readonly_fields = ["id", "date_joined", "last_login", "their_data"]
    fieldsets = [
        (None, {"fields": ["id", "email", "username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "phone_number", "date_of_birth"]}),
        ("Status", {"fields": ["is_active", "is_email_verified", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
        ("Data", {"fields": ["their_data"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "username", "password1", "password2"]}),
    ]

    @admin.display(description="Their data")
    def their_data(self, user: User) -> str:
        """Links to the lists of the person's rows in the other apps' admins (each list page is audited)."""
        return format_html_join(
            " · ",
            '<a href="{}?{}">{}</a>',
            (
                (reverse(f"admin:{app}_{model}_changelist"), urlencode({f"{field}__exact": user.pk}), label)
                for label, app, model, field in DATA_LINKS
            ),
        )

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


# --- django-axes: lockout records, read-only ------------------------------------------------------------------
# AXES_ENABLE_ADMIN is off (settings), so these are axes' own admins with every write taken away: a lockout is
# lifted with `manage.py axes_reset_username <email>`, never by editing or deleting its rows by hand.


class ReadOnlyAxesMixin:
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessAttempt)
class ReadOnlyAccessAttemptAdmin(ReadOnlyAxesMixin, AccessAttemptAdmin):
    pass


@admin.register(AccessLog)
class ReadOnlyAccessLogAdmin(ReadOnlyAxesMixin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class ReadOnlyAccessFailureLogAdmin(ReadOnlyAxesMixin, AccessFailureLogAdmin):
    pass
