from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Platform-wide roles. Organization roles live on ``Membership``."""

    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    REGION_ADMIN = "region_admin", _("区域管理员")
    SCOUT = "scout", _("科技情报员")
    EXPERT = "expert", _("评审专家")
    COMMISSIONER = "commissioner", _("科技特派员")
    AUDITOR = "auditor", _("审计员")
