from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from techtransfer.core.choices import CooperationMode, HighTechField
from techtransfer.core.models import RegistryRecord
from techtransfer.core.querysets import RecordQuerySet


class Demand(RegistryRecord):
    """An enterprise's technology demand (技术需求). ``organization`` is the enterprise."""

    title = models.CharField(_("需求名称"), max_length=200)
    description = models.TextField(_("需求描述"))
    fields = models.CharField(
        _("技术领域"), max_length=300, blank=True, help_text=_("国家重点支持的高新技术领域，可多选")
    )
    industry = models.ForeignKey(
        "core.IndustryCode", verbose_name=_("国民经济行业"), null=True, blank=True, on_delete=models.PROTECT
    )
    budget = models.DecimalField(
        _("预算（元）"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    deadline = models.DateField(_("截止日期"), null=True, blank=True)
    cooperation_modes = models.CharField(_("合作方式"), max_length=100, blank=True)
    is_bottleneck = models.BooleanField(_("“卡脖子”技术"), default=False, db_index=True)

    MULTI_CHOICE_FIELDS = {"fields": HighTechField, "cooperation_modes": CooperationMode}

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("技术需求")
        verbose_name_plural = _("技术需求")
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="demand_status_published"),
            # Lists for signed-in users mix published and own records: walk this one in order.
            models.Index(fields=["-published_at", "-id"], name="demand_published_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(budget__isnull=True) | models.Q(budget__gte=0), name="demand_budget_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.title
