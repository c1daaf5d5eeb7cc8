from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "techtransfer.accounts"
    verbose_name = "用户与角色"

    def ready(self) -> None:
        from . import auth_events  # noqa: F401  (connects the login audit receivers)
