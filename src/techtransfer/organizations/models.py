from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import credit_code
from .choices import CertificationKind, MembershipRole, OrganizationKind


def validate_credit_code(value: str) -> None:
    problem = credit_code.problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_credit_code")


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, user):
        from techtransfer.core.access import organization_visible_q

        return self.filter(organization_visible_q(user))

    def manageable_by(self, user):
        from techtransfer.core.access import organization_manageable_q

        return self.filter(organization_manageable_q(user))


class Organization(models.Model):
    name = models.CharField(_("单位名称"), max_length=200, unique=True)
    kind = models.CharField(_("单位类型"), max_length=30, choices=OrganizationKind.choices)
    credit_code = models.CharField(
        _("统一社会信用代码"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_credit_code],
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("所属区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organizations",
        help_text=_("本平台区域树中的县区或园区；区域外单位留空"),
    )
    division = models.ForeignKey(
        "core.AdminDivision",
        verbose_name=_("所在地行政区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    website = models.URLField(_("网站"), blank=True)
    description = models.TextField(_("简介"), blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    is_public = models.BooleanField(_("公开展示"), default=True)
    is_example = models.BooleanField(_("示例数据"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    MASKED_FIELDS = ("contact_phone", "contact_email")

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganizationFacts(models.Model):
    """Size facts for one year: what policies and statistics read."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="facts")
    year = models.PositiveSmallIntegerField(_("年度"))
    staff = models.PositiveIntegerField(_("职工人数"), null=True, blank=True)
    rd_staff = models.PositiveIntegerField(_("研发人员数"), null=True, blank=True)
    revenue = models.DecimalField(
        _("营业收入（元）"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    rd_spend = models.DecimalField(
        _("研发投入（元）"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    assets = models.DecimalField(
        _("资产总额（元）"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )

    class Meta:
        verbose_name = _("年度规模数据")
        verbose_name_plural = _("年度规模数据")
        ordering = ["organization", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="organization_facts_one_per_year"),
            models.CheckConstraint(condition=models.Q(revenue__gte=0), name="organization_facts_revenue_gte_0"),
            models.CheckConstraint(condition=models.Q(rd_spend__gte=0), name="organization_facts_rd_spend_gte_0"),
            models.CheckConstraint(condition=models.Q(assets__gte=0), name="organization_facts_assets_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.year}"


class Certification(models.Model):
    """高新技术企业 (certificate number, issue and expiry dates), 科技型中小企业 (入库登记编号, year), 专精特新."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="certifications")
    kind = models.CharField(_("资质类型"), max_length=30, choices=CertificationKind.choices)
    number = models.CharField(_("证书编号/登记编号"), max_length=50)
    year = models.PositiveSmallIntegerField(_("年度"), null=True, blank=True)
    issued_on = models.DateField(_("发证日期"), null=True, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    level = models.CharField(_("级别"), max_length=20, blank=True, help_text=_("专精特新：国家级/省级/市级"))

    class Meta:
        verbose_name = _("资质认定")
        verbose_name_plural = _("资质认定")
        ordering = ["organization", "kind", "-issued_on"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="certification_number_unique"),
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True)
                | models.Q(issued_on__isnull=True)
                | models.Q(expires_on__gt=models.F("issued_on")),
                name="certification_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("单位角色"), max_length=10, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    created_at = models.DateTimeField(_("加入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("单位成员")
        verbose_name_plural = _("单位成员")
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"
