from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from techtransfer.core.models import RegistryRecord
from techtransfer.core.querysets import RecordQuerySet

from .choices import InstrumentCategory


class Instrument(RegistryRecord):
    """A large research instrument (大型科研仪器). ``organization`` owns it."""

    name = models.CharField(_("仪器名称"), max_length=200)
    model_number = models.CharField(_("型号"), max_length=100, blank=True)
    maker = models.CharField(_("生产厂商"), max_length=200, blank=True)
    category = models.CharField(_("仪器类别"), max_length=20, choices=InstrumentCategory.choices)
    location = models.CharField(_("存放地点"), max_length=200, blank=True)
    original_value = models.DecimalField(
        _("原值（元）"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    fee = models.DecimalField(
        _("参考收费（元/机时）"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    fee_note = models.CharField(_("收费说明"), max_length=200, blank=True)
    is_shared = models.BooleanField(_("对外共享"), default=True, db_index=True)
    capabilities = models.TextField(_("主要功能与技术指标"), blank=True)

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("大型仪器")
        verbose_name_plural = _("大型仪器")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(original_value__isnull=True) | models.Q(original_value__gte=0),
                name="instrument_value_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(fee__isnull=True) | models.Q(fee__gte=0), name="instrument_fee_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name
