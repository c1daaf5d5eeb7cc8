from django.db import models
from django.utils.translation import gettext_lazy as _


class EventAction(models.TextChoices):
    CREATE = "create", _("创建")
    UPDATE = "update", _("修改")
    TRANSITION = "transition", _("状态变更")
    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出")
    LOGIN_FAILED = "login_failed", _("登录失败")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    TOKEN = "token", _("令牌")
