from django.contrib import admin

from techtransfer.core.admin import RegistryRecordAdmin

from .models import Commissioner, Expert


@admin.register(Expert)
class ExpertAdmin(RegistryRecordAdmin):
    extra_list_display = ("title", "discipline", "can_review")
    extra_list_filter = ("can_review",)


@admin.register(Commissioner)
class CommissionerAdmin(RegistryRecordAdmin):
    extra_list_display = ("title", "dispatch_unit", "served_enterprise", "term_end")
