"""Admin of people, roles, the audit trail, sessions and tokens. No page shows a usable secret: tokens by jti only,
authenticators without their secret, recovery codes and sign-in challenges not at all (tests/accounts/
test_admin_secrets.py crawls every page for them). Signing in to the admin asks for the second factor
(admin_login.py)."""

import logging
from urllib.parse import urlencode

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html_join

# simplejwt registers admins that show every outstanding refresh token's text: import them now to replace them.
from rest_framework_simplejwt.token_blacklist import admin as _simplejwt_admin  # noqa: F401
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from jeghealth_backend.admin_display import TimezoneChoiceMixin, short_id

from . import mfa, services
from .admin_audit import AuditedAdminMixin
from .admin_login import MfaAdminAuthenticationForm
from .audit import security_event_record
from .care_team import care_grant_revoke
from .choices import SecurityEventType
from .models import AuditEvent, AuthSession, CareTeamGrant, Role, SecurityEvent, TotpDevice, User, UserProfile, UserRole

admin.site.login_form = MfaAdminAuthenticationForm
admin.site.login_template = "admin/mfa_login.html"

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

    list_display = [short_id, "role", "patient", "grantee", "invited_email", "status", "expires_at", "revoked_at"]
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


# --- sessions, authenticators and tokens: never a secret -------------------------------------------------------


@admin.register(AuthSession)
class AuthSessionAdmin(ReadOnlyAdmin):
    """Signed-in sessions, for support; a person ends their own with DELETE auth/sessions/{id}/."""

    list_display = [short_id, "user", "scope", "created_at", "last_used_at", "ip_address", "ended_at"]
    list_filter = ["scope"]
    search_fields = ["user__email", "id"]
    list_select_related = ["user"]
    fields = ["id", "user", "scope", "created_at", "last_used_at", "expires_at", "ended_at", "ip_address", "user_agent"]


@admin.register(TotpDevice)
class TotpDeviceAdmin(ReadOnlyAdmin):
    """Who has an authenticator, never its secret. The action turns MFA off for someone who lost it (recorded)."""

    list_display = ["user", "confirmed_at", "created_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "confirmed_at", "created_at"]
    actions = ["reset"]

    @admin.action(
        description="Turn two-factor authentication off for the selected people (after checking who they are)"
    )
    def reset(self, request, queryset):
        count = 0
        for device in queryset.select_related("user"):
            mfa.totp_reset_by_admin(user=device.user, admin=request.user, request=request)
            count += 1
        self.message_user(request, f"Two-factor authentication turned off for {count} account(s).", messages.SUCCESS)


admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(ReadOnlyAdmin):
    """Issued refresh tokens by jti: the token text is never shown (it would let an admin act as the person)."""

    list_display = ["jti", "user", "created_at", "expires_at"]
    search_fields = ["jti", "user__email"]
    list_select_related = ["user"]
    fields = ["jti", "user", "created_at", "expires_at"]


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(ReadOnlyAdmin):
    list_display = ["jti", "user", "blacklisted_at"]
    search_fields = ["token__jti", "token__user__email"]
    list_select_related = ["token__user"]
    fields = ["jti", "user", "blacklisted_at"]
    readonly_fields = ["jti", "user"]

    @admin.display(description="jti", ordering="token__jti")
    def jti(self, obj: BlacklistedToken) -> str:
        return obj.token.jti

    @admin.display(description="user", ordering="token__user")
    def user(self, obj: BlacklistedToken):
        return obj.token.user
