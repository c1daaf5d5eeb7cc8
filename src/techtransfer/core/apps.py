from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "techtransfer.core"
    verbose_name = "基础"
