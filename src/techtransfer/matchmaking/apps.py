from django.apps import AppConfig


class MatchmakingConfig(AppConfig):
    name = "techtransfer.matchmaking"
    verbose_name = "精准对接"
