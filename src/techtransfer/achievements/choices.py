from django.db import models
from django.utils.translation import gettext_lazy as _


class AchievementKind(models.TextChoices):
    APPLIED = "applied", _("应用技术")
    BASIC = "basic", _("基础理论")
    SOFT_SCIENCE = "soft_science", _("软科学")


class AchievementStage(models.TextChoices):
    EARLY = "early", _("初期")
    MIDDLE = "middle", _("中期")
    MATURE = "mature", _("成熟")


class PricingMethod(models.TextChoices):
    AGREEMENT = "agreement", _("协议定价")
    LISTING = "listing", _("挂牌交易")
    AUCTION = "auction", _("拍卖")


class IPKind(models.TextChoices):
    INVENTION = "invention", _("发明专利")
    UTILITY_MODEL = "utility_model", _("实用新型专利")
    DESIGN = "design", _("外观设计专利")
    SOFTWARE = "software", _("软件著作权")
    OTHER = "other", _("其他")
