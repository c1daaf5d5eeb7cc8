"""Choices and error codes of 政策兑现. The values of level and track are the engine's own codes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyLevel(models.TextChoices):
    NATIONAL = "national", _("国家")
    PROVINCIAL = "provincial", _("省")
    MUNICIPAL = "municipal", _("市")
    COUNTY = "county", _("县区")


class ClauseTrack(models.TextChoices):
    PRECHECK = "precheck", _("条件预检")
    EXEMPT = "exempt", _("免申即享")
    QUICK = "quick", _("快申快享")
    PROCEDURE = "procedure", _("按程序申报")
    MONITOR = "monitor", _("指标监测")


class ClauseEntity(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    INSTITUTION = "institution", _("高校院所")
    PROJECT = "project", _("项目")
    PERSON = "person", _("个人")
    FUND = "fund", _("基金")
    PORTFOLIO = "portfolio", _("项目或企业组合")


class EvaluationResult(models.TextChoices):
    """The engine's decision (``policy.Status.code``)."""

    ELIGIBLE = "eligible", _("符合")
    NOT_ELIGIBLE = "not_eligible", _("不符合")
    MISSING = "missing", _("缺少事实")
    UNDEFINED = "undefined", _("无法判定")


class EntitlementStatus(models.TextChoices):
    ELIGIBLE = "eligible", _("符合条件，待确认")
    INCOMPLETE = "incomplete", _("缺少数据，待补充")
    CONFIRMED = "confirmed", _("已确认，待拨付")
    PAID = "paid", _("已拨付")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    APPROVED = "approved", _("已批准")
    RETURNED = "returned", _("已退回")
    PAID = "paid", _("已拨付")


class PolicyErrorCode(models.TextChoices):
    """Codes of refused 政策兑现 service calls (``ServiceError.code``)."""

    INVALID = "invalid", _("数据校验未通过")
    RULE_INVALID = "rule_invalid", _("规则校验未通过")
    NOT_IN_FORCE = "not_in_force", _("该日期没有生效的规则")
    NOTICE_NOT_OPEN = "notice_not_open", _("申报尚未开始")
    NOTICE_CLOSED = "notice_closed", _("申报已截止")
    BAD_STATE = "bad_state", _("当前状态不允许此操作")
    NOT_ELIGIBLE = "not_eligible", _("按规则评价不符合条件")
    COMMENT_REQUIRED = "comment_required", _("退回时必须填写审核意见")
    DUPLICATE = "duplicate", _("已有同一条款、同一年度的申请")
    NOT_TEXT = "not_text", _("文件不是文本")
    TOO_LARGE = "too_large", _("文件过大")
