from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "techtransfer.organizations"
    verbose_name = "单位"
