from django.contrib import admin

from .models import Certification, Membership, Organization, OrganizationFacts


class CertificationInline(admin.TabularInline):
    model = Certification
    extra = 0


class FactsInline(admin.TabularInline):
    model = OrganizationFacts
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region", "credit_code", "is_public", "is_example", "created_at")
    list_filter = ("kind", "region", "is_public", "is_example")
    search_fields = ("name", "credit_code")
    list_select_related = ("region",)
    autocomplete_fields = ("division",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    inlines = (CertificationInline, FactsInline, MembershipInline)


@admin.register(OrganizationFacts)
class OrganizationFactsAdmin(admin.ModelAdmin):
    list_display = ("organization", "year", "staff", "rd_staff", "revenue", "rd_spend", "assets")
    list_filter = ("year",)
    search_fields = ("organization__name",)
    autocomplete_fields = ("organization",)
    list_select_related = ("organization",)


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ("organization", "kind", "number", "level", "year", "issued_on", "expires_on")
    list_filter = ("kind", "level", "year")
    search_fields = ("organization__name", "number")
    autocomplete_fields = ("organization",)
    list_select_related = ("organization",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__display_name", "organization__name")
    autocomplete_fields = ("user", "organization")
    list_select_related = ("user", "organization")
