from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "techtransfer.audit"
    verbose_name = "审计日志"
