from django.apps import AppConfig


class DemandsConfig(AppConfig):
    name = "techtransfer.demands"
    verbose_name = "技术需求"
