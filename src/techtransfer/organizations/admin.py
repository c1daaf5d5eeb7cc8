from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models

from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError

from .models import Certification, Membership, Organization, OrganizationFacts
from .services import organization_create, organization_update


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
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        """Save through ``organization_create`` / ``organization_update``: their access rules, checks and audit event.

        The form has validated the input already (model validators, uniqueness); a write the
        services refuse or reject is a 403, inside the admin's transaction, so nothing is saved.
        """
        names = {f.name for f in Organization._meta.concrete_fields}
        try:
            if change:
                fields = {name: form.cleaned_data[name] for name in form.changed_data if name in names}
                saved = organization_update(actor=request.user, organization=obj, fields=fields, request=request)
            else:
                fields = {name: value for name, value in form.cleaned_data.items() if name in names}
                saved = organization_create(actor=request.user, fields=fields, request=request)
        except (AccessDenied, ServiceError) as exc:
            raise PermissionDenied(exc.message) from exc
        # The admin goes on with ``obj`` (inlines, change message, redirect): make it the saved row.
        for field in Organization._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db


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
