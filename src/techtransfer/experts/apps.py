from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "techtransfer.experts"
    verbose_name = "专家与科技特派员"
