from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorCode(models.TextChoices):
    INVALID = "invalid", _("数据校验未通过")
    FORBIDDEN = "forbidden", _("没有权限")
    NOT_FOUND = "not_found", _("未找到")
    BAD_TRANSITION = "bad_transition", _("当前状态不允许此操作")
    COMMENT_REQUIRED = "comment_required", _("退回时必须填写审核意见")
    NOT_EDITABLE = "not_editable", _("当前状态不允许修改")


class ServiceError(Exception):
    """A refused service call, with a code for the API and a message for people."""

    def __init__(self, code: ErrorCode, message: str | None = None, details: dict | None = None):
        self.code = code
        self.message = str(message or code.label)
        self.details = details or {}
        super().__init__(self.message)
