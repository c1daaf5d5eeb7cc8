from django.db import models
from django.utils.translation import gettext_lazy as _


class RecognitionLevel(models.TextChoices):
    NATIONAL = "national", _("国家级")
    PROVINCIAL = "provincial", _("省级")
    MUNICIPAL = "municipal", _("市级")
    NONE = "none", _("未认定")
