from django.db import models
from django.utils.translation import gettext_lazy as _

from techtransfer.core.choices import HighTechField
from techtransfer.core.models import RegistryRecord
from techtransfer.core.querysets import RecordQuerySet

from .choices import RecognitionLevel


class PilotBase(RegistryRecord):
    """A pilot-scale (中试/产业化) base where results are tried before production."""

    name = models.CharField(_("基地名称"), max_length=200)
    level = models.CharField(
        _("认定级别"), max_length=20, choices=RecognitionLevel.choices, default=RecognitionLevel.NONE
    )
    recognized_on = models.DateField(_("认定日期"), null=True, blank=True)
    fields = models.CharField(_("服务领域"), max_length=300, blank=True)
    capabilities = models.TextField(_("中试能力与服务内容"))
    address = models.CharField(_("地址"), max_length=200, blank=True)

    MULTI_CHOICE_FIELDS = {"fields": HighTechField}

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("中试基地")
        verbose_name_plural = _("中试基地")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.name
