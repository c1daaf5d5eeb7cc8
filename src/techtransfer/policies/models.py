"""政策兑现: the policy library, 申报通知, entitlements (政策找企业) and applications.

The rules themselves live in the framework-free engine ``techtransfer.policy``; a ``PolicyClause`` row either
names a shipped clause by its engine id or carries staff-written condition and formula text that the engine
validates (``policies.engine``). Every decision stores the engine's trace and rule version beside it.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .access import application_editable_q, entitlement_visible_q, organization_reviewable_q
from .choices import (
    ApplicationStatus,
    ClauseEntity,
    ClauseTrack,
    EntitlementStatus,
    EvaluationResult,
    PolicyLevel,
)


class PublicQuerySet(models.QuerySet):
    """The policy library, its clauses and notices are public."""

    def visible_to(self, user):
        return self.all()


class Policy(models.Model):
    """One policy document (政策文件) with its application guide (申报指南)."""

    engine_id = models.CharField(
        _("规则库编号"), max_length=80, unique=True, help_text=_("规则引擎中的政策编号，如 hte_recognition")
    )
    title = models.CharField(_("政策名称"), max_length=200)
    document_number = models.CharField(_("文号"), max_length=100, blank=True)
    issuer = models.CharField(_("发文部门"), max_length=200)
    level = models.CharField(_("层级"), max_length=20, choices=PolicyLevel.choices)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True, help_text=_("长期有效留空"))
    summary = models.TextField(_("摘要"), blank=True)
    full_text = models.TextField(_("政策全文"), blank=True)
    guide_target = models.TextField(_("申报对象"), blank=True)
    guide_conditions = models.TextField(_("申报条件"), blank=True)
    guide_materials = models.TextField(_("材料清单"), blank=True, help_text=_("每行一项"))
    guide_time_limit = models.CharField(_("办理时限"), max_length=200, blank=True)
    guide_department = models.CharField(_("受理部门"), max_length=200, blank=True)
    guide_phone = models.CharField(_("咨询电话"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PublicQuerySet.as_manager()

    class Meta:
        verbose_name = _("政策")
        verbose_name_plural = _("政策库")
        ordering = ["-valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="policy_valid_to_after_from"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def materials(self) -> list[str]:
        return [line.strip() for line in self.guide_materials.splitlines() if line.strip()]


class PolicyClause(models.Model):
    """A clause of a policy: a shipped engine clause (empty condition) or a staff-written one."""

    policy = models.ForeignKey(Policy, verbose_name=_("政策"), on_delete=models.PROTECT, related_name="clauses")
    clause_id = models.CharField(
        _("条款编号"), max_length=80, unique=True, help_text=_("规则引擎中的条款编号，如 huaibei.hte_new_reward")
    )
    title = models.CharField(_("条款名称"), max_length=200)
    track = models.CharField(_("兑现方式"), max_length=20, choices=ClauseTrack.choices)
    entity = models.CharField(
        _("适用对象"), max_length=20, choices=ClauseEntity.choices, default=ClauseEntity.ENTERPRISE
    )
    benefit = models.CharField(_("政策内容"), max_length=200, blank=True)
    condition = models.TextField(
        _("适用条件"), blank=True, help_text=_("规则表达式；留空表示使用规则库中随平台发布的条款定义")
    )
    amount = models.TextField(_("金额公式"), blank=True)
    cap = models.TextField(_("金额上限"), blank=True)
    effective_from = models.DateField(_("生效日期"), null=True, blank=True, help_text=_("留空时按政策生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    source_article = models.CharField(_("出处条款"), max_length=200, blank=True)
    source_quote = models.TextField(_("原文"), blank=True)
    is_active = models.BooleanField(_("参与批量评价"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PublicQuerySet.as_manager()

    class Meta:
        verbose_name = _("政策条款")
        verbose_name_plural = _("政策条款")
        ordering = ["policy", "clause_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_from__isnull=True)
                | Q(effective_to__gte=F("effective_from")),
                name="policy_clause_to_after_from",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_staff_written(self) -> bool:
        return bool(self.condition.strip())


class Notice(models.Model):
    """申报通知: applications for a clause are accepted from ``opens_on`` to ``closes_on`` (inclusive)."""

    policy = models.ForeignKey(Policy, verbose_name=_("政策"), on_delete=models.PROTECT, related_name="notices")
    clause = models.ForeignKey(
        PolicyClause, verbose_name=_("申报条款"), on_delete=models.PROTECT, related_name="notices"
    )
    title = models.CharField(_("通知标题"), max_length=200)
    period = models.PositiveSmallIntegerField(_("申报年度"), help_text=_("申报所依据数据的年度"))
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("截止日期"))
    body = models.TextField(_("通知正文"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = PublicQuerySet.as_manager()

    class Meta:
        verbose_name = _("申报通知")
        verbose_name_plural = _("申报通知")
        ordering = ["-opens_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_on__gte=F("opens_on")), name="notice_closes_after_opens")
        ]

    def __str__(self) -> str:
        return self.title


class EntitlementRun(models.Model):
    """One 政策找企业 batch run: every enterprise against every clause in force on ``applied_on``."""

    period = models.PositiveSmallIntegerField(_("评价年度"))
    applied_on = models.DateField(_("规则适用日期"))
    library_digest = models.CharField(_("规则库版本"), max_length=64)
    enterprises = models.PositiveIntegerField(_("企业数"), default=0)
    clauses = models.JSONField(_("评价的条款"), default=list)
    counts = models.JSONField(_("结果统计"), default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("运行时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("政策匹配批次")
        verbose_name_plural = _("政策匹配批次")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period} 年度政策匹配（{self.applied_on:%Y-%m-%d} 规则）"


class EntitlementQuerySet(models.QuerySet):
    """Rows owned by an ``organization``: seen by its members and its region's staff, reviewed by the staff."""

    def visible_to(self, user):
        return self.filter(entitlement_visible_q(user))

    def reviewable_by(self, user):
        return self.filter(organization_reviewable_q(user))


class Entitlement(models.Model):
    """What an enterprise may receive under a clause for a period, as the batch run found it, with its trace."""

    run = models.ForeignKey(
        EntitlementRun, verbose_name=_("批次"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization = models.ForeignKey(
        "organizations.Organization", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="entitlements"
    )
    clause = models.ForeignKey(
        PolicyClause, verbose_name=_("政策条款"), on_delete=models.PROTECT, related_name="entitlements"
    )
    period = models.PositiveSmallIntegerField(_("评价年度"))
    applied_on = models.DateField(_("规则适用日期"))
    result = models.CharField(_("评价结果"), max_length=20, choices=EvaluationResult.choices)
    amount = models.DecimalField(
        _("金额（元）"), max_digits=16, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    missing = models.JSONField(_("缺少的事实"), default=list, blank=True)
    trace = models.JSONField(_("评价过程"), default=dict)
    rule_version = models.JSONField(_("规则版本"), default=dict)
    status = models.CharField(_("状态"), max_length=20, choices=EntitlementStatus.choices)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    paid_at = models.DateTimeField(_("拨付登记时间"), null=True, blank=True)
    payment_reference = models.CharField(_("拨付凭证号"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        verbose_name = _("可享受的政策")
        verbose_name_plural = _("可享受的政策")
        ordering = ["organization", "clause", "-period"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "clause", "period"], name="entitlement_one_per_period"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="entitlement_amount_gte_0"),
        ]
        indexes = [models.Index(fields=["period", "status"], name="entitlement_period_status")]

    def __str__(self) -> str:
        return f"{self.organization} · {self.clause} · {self.period}"


class ApplicationQuerySet(EntitlementQuerySet):
    def editable_by(self, user):
        return self.filter(application_editable_q(user))


class Application(models.Model):
    """An enterprise's application under a notice: facts, materials, then staff's decision with its trace."""

    organization = models.ForeignKey(
        "organizations.Organization", verbose_name=_("申报单位"), on_delete=models.PROTECT, related_name="applications"
    )
    notice = models.ForeignKey(
        Notice, verbose_name=_("申报通知"), on_delete=models.PROTECT, related_name="applications"
    )
    clause = models.ForeignKey(
        PolicyClause, verbose_name=_("政策条款"), on_delete=models.PROTECT, related_name="applications"
    )
    period = models.PositiveSmallIntegerField(_("申报年度"))
    facts = models.JSONField(_("申报数据"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    applied_on = models.DateField(_("申请日期"), null=True, blank=True, help_text=_("按这一天生效的规则评价"))
    result = models.CharField(_("评价结果"), max_length=20, choices=EvaluationResult.choices, blank=True)
    amount = models.DecimalField(
        _("核定金额（元）"), max_digits=16, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    trace = models.JSONField(_("评价过程"), default=dict, blank=True)
    rule_version = models.JSONField(_("规则版本"), default=dict, blank=True)
    review_comment = models.TextField(_("审核意见"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    paid_at = models.DateTimeField(_("拨付登记时间"), null=True, blank=True)
    payment_reference = models.CharField(_("拨付凭证号"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("政策申报")
        verbose_name_plural = _("政策申报")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "notice"], name="application_one_per_notice"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="application_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.notice}"


class ApplicationMaterial(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("材料名称"), max_length=200)
    file = models.FileField(_("文件"), upload_to="policies/applications/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申报材料")
        verbose_name_plural = _("申报材料")
        ordering = ["application", "id"]

    def __str__(self) -> str:
        return self.name
