from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "techtransfer.instruments"
    verbose_name = "大型仪器"
