"""Read-only admin pages: every write of 政策兑现 goes through ``policies.services`` (checked and audited)."""

from django.contrib import admin

from .models import Application, Entitlement, EntitlementRun, Notice, Policy, PolicyClause


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ("title", "document_number", "issuer", "level", "valid_from", "valid_to")
    list_filter = ("level",)
    search_fields = ("title", "document_number", "issuer")


@admin.register(PolicyClause)
class PolicyClauseAdmin(ReadOnlyAdmin):
    list_display = ("clause_id", "title", "policy", "track", "is_active")
    list_filter = ("track", "is_active")
    search_fields = ("clause_id", "title")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("title", "policy", "clause", "period", "opens_on", "closes_on")


@admin.register(EntitlementRun)
class EntitlementRunAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "period", "applied_on", "enterprises", "actor")


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = ("organization", "clause", "period", "status", "amount")
    list_filter = ("status", "period")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("organization", "notice", "period", "status", "amount")
    list_filter = ("status",)
