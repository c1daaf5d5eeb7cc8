from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "techtransfer.regions"
    verbose_name = "区域"
