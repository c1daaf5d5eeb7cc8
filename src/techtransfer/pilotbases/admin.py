from django.contrib import admin

from techtransfer.core.admin import RegistryRecordAdmin

from .models import PilotBase


@admin.register(PilotBase)
class PilotBaseAdmin(RegistryRecordAdmin):
    extra_list_display = ("level", "recognized_on")
    extra_list_filter = ("level",)
