from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import EventAction


class AppendOnlyError(Exception):
    pass


class Event(models.Model):
    """One append-only row per write, login or export: who, when, what, before → after.

    The model refuses updates and deletes, and database triggers (migration 0002) refuse them
    for anything that bypasses the ORM.
    """

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=20, choices=EventAction.choices, db_index=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    target_repr = models.CharField(_("对象"), max_length=255, blank=True)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    comment = models.TextField(_("说明"), blank=True)
    summary = models.CharField(_("摘要"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "at"], name="audit_event_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.target_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("审计事件只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("审计事件只能追加，不能删除")
