from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区")
    COUNTY = "county", _("县")
    PARK = "park", _("园区")
