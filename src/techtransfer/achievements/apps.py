from django.apps import AppConfig


class AchievementsConfig(AppConfig):
    name = "techtransfer.achievements"
    verbose_name = "科技成果"
