from django.contrib import admin

from techtransfer.core.pagecache import bump_content_version

from .models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """The region tree is loaded from data (``regions/data/*.json``); here only names and order change."""

    list_display = ("name", "code", "kind", "parent", "division", "sort_order", "path")
    list_filter = ("kind",)
    search_fields = ("name", "code")
    readonly_fields = ("code", "kind", "parent", "path", "division")
    ordering = ("path",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_content_version()  # region names are on cached public pages (filters, records, the API's tree)
