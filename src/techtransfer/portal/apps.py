from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "techtransfer.portal"
    verbose_name = "门户"
