from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The audit log is append-only: nobody adds, changes or deletes an event here, superusers included."""

    list_display = (
        "at",
        "actor_name",
        "action",
        "target_type",
        "target_repr",
        "from_status",
        "to_status",
        "ip_address",
    )
    list_filter = ("action", "target_type")
    search_fields = ("actor_name", "target_repr", "summary", "comment")
    date_hierarchy = "at"
    list_select_related = ("target_type",)
    list_per_page = 100
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
