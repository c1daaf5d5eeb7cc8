from django.contrib import admin

from techtransfer.core.admin import RegistryRecordAdmin

from .models import Instrument


@admin.register(Instrument)
class InstrumentAdmin(RegistryRecordAdmin):
    extra_list_display = ("category", "model_number", "maker", "is_shared", "fee")
    extra_list_filter = ("category", "is_shared")
