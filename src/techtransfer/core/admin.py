"""Back office (Django admin, in Chinese) for the code lists, and the base admin of every registry.

Registry records saved here go through ``core.services`` like everywhere else, so an edit in the
admin is access-checked, validated and written to the audit log. The review workflow (status) is
not edited here: it runs on the record's page. Records are withdrawn, not deleted.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from techtransfer.core import access, multichoice
from techtransfer.core.errors import ServiceError
from techtransfer.core.registry import kind_for_model
from techtransfer.core.services import record_create, record_update
from techtransfer.core.workflow import EDITABLE_STATES

from .models import AdminDivision, ContentVersion, IndustryCode

WORKFLOW_FIELDS = ("status", "review_comment", "created_by", "created_at", "updated_at", "published_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows loaded from official files or written by the platform itself: look, never touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IndustryCode)
class IndustryCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    ordering = ("code",)


@admin.register(AdminDivision)
class AdminDivisionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    ordering = ("code",)


@admin.register(ContentVersion)
class ContentVersionAdmin(ReadOnlyAdmin):
    list_display = ("key", "value")


class RegistryRecordAdmin(admin.ModelAdmin):
    """Shared by the six registries; each app's ``admin.py`` adds its own columns and filters."""

    extra_list_display: tuple = ()
    extra_list_filter: tuple = ()
    list_select_related = ("organization", "region")
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = None  # no bulk delete: records are withdrawn through the workflow

    def get_list_display(self, request):
        title = kind_for_model(self.model).title_field
        return (title, *self.extra_list_display, "organization", "region", "status", "published_at", "is_example")

    def get_list_filter(self, request):
        return ("status", *self.extra_list_filter, "region", "is_example")

    def get_search_fields(self, request):
        return kind_for_model(self.model).search_fields

    def get_autocomplete_fields(self, request):
        names = {f.name for f in self.model._meta.concrete_fields}
        return tuple(n for n in ("organization", "industry", "scout", "user") if n in names)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status not in EDITABLE_STATES:
            # Under review or on show: content changes only after a return or a withdrawal.
            return [f.name for f in self.model._meta.concrete_fields if f.name != "id"]
        return WORKFLOW_FIELDS

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        multi = getattr(self.model, "MULTI_CHOICE_FIELDS", {})
        if db_field.name in multi:
            choices = multi[db_field.name].choices
            return multichoice.MultiChoiceField(choices=choices, required=False, label=db_field.verbose_name)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        names = {f.name for f in self.model._meta.concrete_fields} - set(WORKFLOW_FIELDS) - {"id"}
        try:
            if change:
                fields = {n: form.cleaned_data[n] for n in form.changed_data if n in names}
                # ``record_update`` re-reads the row under a lock, so the form's changes on ``obj`` do not leak in.
                saved = record_update(obj=obj, actor=request.user, fields=fields, request=request)
            else:
                fields = {n: v for n, v in form.cleaned_data.items() if n in names}
                saved = record_create(model=self.model, actor=request.user, fields=fields, request=request)
        except (access.AccessDenied, ServiceError) as exc:
            raise PermissionDenied(exc.message) from exc
        for f in self.model._meta.concrete_fields:
            setattr(obj, f.attname, getattr(saved, f.attname))
