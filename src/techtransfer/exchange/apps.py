from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "techtransfer.exchange"
    verbose_name = "导入导出"
