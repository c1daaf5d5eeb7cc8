from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from techtransfer.organizations.models import Membership

from .models import ApiToken, RoleAssignment, User


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    readonly_fields = ("granted_at",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("organization",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "phone", "is_staff", "is_active", "last_login")
    search_fields = ("username", "display_name", "email", "phone")
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:1],
        (_("个人信息"), {"fields": ("display_name", "first_name", "last_name", "email", "phone")}),
        *DjangoUserAdmin.fieldsets[2:],
    )
    inlines = (RoleInline, MembershipInline)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "region", "granted_at")
    list_filter = ("role", "region")
    search_fields = ("user__username", "user__display_name")
    autocomplete_fields = ("user",)
    list_select_related = ("user", "region")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued where the raw key can be shown once (API, ``token`` command); only its SHA-256 is kept."""

    list_display = ("name", "user", "key_prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "key_prefix")
    readonly_fields = ("user", "name", "key_prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
