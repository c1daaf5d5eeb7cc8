from django.contrib import admin

from techtransfer.core.admin import RegistryRecordAdmin

from .models import Demand


@admin.register(Demand)
class DemandAdmin(RegistryRecordAdmin):
    extra_list_display = ("budget", "deadline", "is_bottleneck")
    extra_list_filter = ("is_bottleneck",)
