from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from techtransfer.core import patents
from techtransfer.core.choices import CooperationMode, HighTechField
from techtransfer.core.models import RegistryRecord
from techtransfer.core.querysets import RecordQuerySet

from .choices import AchievementKind, AchievementStage, IPKind, PricingMethod

PATENT_KINDS = {IPKind.INVENTION, IPKind.UTILITY_MODEL, IPKind.DESIGN}


def validate_keywords(value) -> None:
    if not isinstance(value, list) or not all(isinstance(k, str) and k.strip() for k in value):
        raise ValidationError(_("关键词应为非空文字的列表"))


def validate_names(value) -> None:
    if not isinstance(value, list) or not all(isinstance(k, str) and k.strip() for k in value):
        raise ValidationError(_("应为按贡献排序的名称列表"))


def validate_ip_items(value) -> None:
    """``[{"kind": "invention", "number": "ZL202310123456.7", "title": "…"}, …]``; patent numbers checked."""
    if not isinstance(value, list):
        raise ValidationError(_("知识产权应为列表"))
    kinds = set(IPKind.values)
    for i, item in enumerate(value, start=1):
        if not isinstance(item, dict) or not str(item.get("number", "")).strip():
            raise ValidationError(_("第 %(i)d 项知识产权缺少编号") % {"i": i})
        if item.get("kind") not in kinds:
            raise ValidationError(_("第 %(i)d 项知识产权类型不正确") % {"i": i})
        if item["kind"] in PATENT_KINDS:
            problem = patents.problem(str(item["number"]))
            if problem:
                raise ValidationError(problem)


class Achievement(RegistryRecord):
    title = models.CharField(_("成果名称"), max_length=200)
    abstract = models.TextField(_("成果简介"))
    keywords = models.JSONField(_("关键词"), default=list, blank=True, validators=[validate_keywords])
    kind = models.CharField(
        _("成果类型"), max_length=20, choices=AchievementKind.choices, default=AchievementKind.APPLIED
    )
    stage = models.CharField(_("成熟阶段"), max_length=10, choices=AchievementStage.choices, blank=True)
    readiness_level = models.PositiveSmallIntegerField(
        _("技术就绪度（TRL）"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
    )
    discipline = models.CharField(_("学科"), max_length=50, blank=True)
    industry = models.ForeignKey(
        "core.IndustryCode", verbose_name=_("国民经济行业"), null=True, blank=True, on_delete=models.PROTECT
    )
    high_tech_field = models.CharField(
        _("高新技术领域"), max_length=30, choices=HighTechField.choices, blank=True, db_index=True
    )
    ip_items = models.JSONField(_("知识产权"), default=list, blank=True, validators=[validate_ip_items])
    owners = models.JSONField(_("成果权属单位（按贡献排序）"), default=list, blank=True, validators=[validate_names])
    completers = models.JSONField(_("成果完成人（按贡献排序）"), default=list, blank=True, validators=[validate_names])
    transfer_modes = models.CharField(_("转化方式"), max_length=100, blank=True)
    asking_price = models.DecimalField(
        _("意向价格（元）"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    pricing_method = models.CharField(_("定价方式"), max_length=20, choices=PricingMethod.choices, blank=True)
    scout = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("科技情报员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scouted_achievements",
    )
    source = models.CharField(_("数据来源"), max_length=255, blank=True)

    MULTI_CHOICE_FIELDS = {"transfer_modes": CooperationMode}

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("科技成果")
        verbose_name_plural = _("科技成果")
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="achievement_status_published"),
            # Lists for signed-in users mix published and own records: walk this one in order.
            models.Index(fields=["-published_at", "-id"], name="achievement_published_order"),
            # Covers the portal's most common filter (field + readiness) for counts.
            models.Index(fields=["status", "high_tech_field", "readiness_level"], name="achievement_status_field_trl"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(readiness_level__isnull=True)
                | models.Q(readiness_level__gte=1, readiness_level__lte=9),
                name="achievement_readiness_1_9",
            ),
            models.CheckConstraint(
                condition=models.Q(asking_price__isnull=True) | models.Q(asking_price__gte=0),
                name="achievement_price_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.title
