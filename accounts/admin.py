from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Role, User, UserProfile, UserRole


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


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
