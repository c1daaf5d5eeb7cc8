"""Code lists shared by every app, and the base of every registry record."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import multichoice
from .choices import RecordStatus


class IndustryCode(models.Model):
    """GB/T 4754-2017 国民经济行业分类: 门类 (letter) → 大类 → 中类 → 小类."""

    code = models.CharField(_("代码"), max_length=4, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(_("层级"))

    class Meta:
        verbose_name = _("国民经济行业")
        verbose_name_plural = _("国民经济行业分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AdminDivision(models.Model):
    """GB/T 2260 行政区划代码, county level and above, for the whole country."""

    code = models.CharField(_("代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(_("层级"))

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划代码")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RegistryRecord(models.Model):
    """What every registry entry shares: an owner, a region, a review workflow and contacts.

    Who may see or change a record is decided in ``techtransfer.core.access`` only.
    """

    status = models.CharField(
        _("状态"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.DRAFT, db_index=True
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        related_name="%(class)ss",
        null=True,
        blank=True,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("所属区域"),
        on_delete=models.PROTECT,
        related_name="%(class)ss",
        null=True,
        blank=True,
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    review_comment = models.TextField(_("审核意见"), blank=True)
    is_example = models.BooleanField(_("示例数据"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, db_index=True)

    # Fields that hold ``,a,b,`` multi-choice strings: name → TextChoices class.
    MULTI_CHOICE_FIELDS: dict = {}
    # Fields hidden from anyone who may not edit the record.
    MASKED_FIELDS = ("contact_phone", "contact_email")

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        errors = {}
        for name, choices in self.MULTI_CHOICE_FIELDS.items():
            unknown = [v for v in multichoice.decode(getattr(self, name)) if v not in choices.values]
            if unknown:
                errors[name] = _("不认识的选项：%(v)s") % {"v": "、".join(unknown)}
        if errors:
            raise ValidationError(errors)

    def multi(self, field: str) -> list[str]:
        return multichoice.decode(getattr(self, field))

    def multi_labels(self, field: str) -> list[str]:
        return multichoice.labels(getattr(self, field), self.MULTI_CHOICE_FIELDS[field])

    @property
    def is_public(self) -> bool:
        return self.status == RecordStatus.PUBLISHED


class ContentVersion(models.Model):
    """One counter bumped by every registry write: cached public pages older than it are stale.

    Reading it is one indexed single-row query, which lets every server process keep its own
    page cache and still show a publication on the very next request.
    """

    key = models.CharField(max_length=30, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("内容版本")
        verbose_name_plural = _("内容版本")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
