from django.db import models
from django.utils.translation import gettext_lazy as _


class InstrumentCategory(models.TextChoices):
    """Top-level classes of the 科研设施与仪器 open-sharing catalogue (analysis, testing, processing …)."""

    ANALYTICAL = "analytical", _("分析仪器")
    PHYSICAL = "physical", _("物理性能测试仪器")
    COMPUTING = "computing", _("计算机及其配套设备")
    ELECTRONIC = "electronic", _("电子测量仪器")
    MEDICAL = "medical", _("医学科研仪器")
    MANUFACTURING = "manufacturing", _("工艺试验与加工设备")
    EARTH = "earth", _("地球探测仪器")
    SPECIAL = "special", _("特种检测仪器")
    OTHER = "other", _("其他")
