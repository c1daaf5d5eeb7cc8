from django.contrib import admin

from techtransfer.core.admin import RegistryRecordAdmin

from .models import Achievement


@admin.register(Achievement)
class AchievementAdmin(RegistryRecordAdmin):
    extra_list_display = ("high_tech_field", "readiness_level", "asking_price")
    extra_list_filter = ("high_tech_field", "kind", "stage", "pricing_method")
