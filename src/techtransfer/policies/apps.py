from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "techtransfer.policies"
    verbose_name = "政策兑现"
