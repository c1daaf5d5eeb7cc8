from django.apps import AppConfig


class PilotbasesConfig(AppConfig):
    name = "techtransfer.pilotbases"
    verbose_name = "中试基地"
