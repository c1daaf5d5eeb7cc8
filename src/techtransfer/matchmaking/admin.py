from django.contrib import admin

from .models import Match, MatchEvent


class MatchEventInline(admin.TabularInline):
    model = MatchEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "actor", "from_stage", "to_stage", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    """Read-only here: stages change through ``matchmaking.services`` (pages and API), with an event each."""

    list_display = ("demand", "counterpart", "stage", "driven_by", "region", "updated_at")
    list_filter = ("stage",)
    search_fields = ("demand__title", "achievement__title", "expert__name", "instrument__name")
    inlines = [MatchEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
