from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "techtransfer.core"
    verbose_name = "基础"

    def ready(self) -> None:
        from . import search  # noqa: F401  (registers tt_bigrams() on SQLite connections)
