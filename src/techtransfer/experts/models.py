from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from techtransfer.core.choices import HighTechField
from techtransfer.core.models import RegistryRecord
from techtransfer.core.querysets import RecordQuerySet


class Expert(RegistryRecord):
    """A reviewing or consulting expert (专家库). ``organization`` is the affiliation."""

    name = models.CharField(_("姓名"), max_length=50)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("平台账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expert_profile",
    )
    title = models.CharField(_("职称"), max_length=50, blank=True)
    discipline = models.CharField(_("学科"), max_length=50, blank=True)
    fields = models.CharField(_("技术领域"), max_length=300, blank=True)
    expertise = models.TextField(_("研究方向与专长"))
    bio = models.TextField(_("个人简介"), blank=True)
    can_review = models.BooleanField(_("可担任评审专家"), default=True)

    MULTI_CHOICE_FIELDS = {"fields": HighTechField}
    OWNER_USER_FIELD = "user"

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("专家")
        verbose_name_plural = _("专家")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Commissioner(RegistryRecord):
    """A science and technology commissioner (科技特派员) serving enterprises in a region."""

    name = models.CharField(_("姓名"), max_length=50)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("平台账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commissioner_profile",
    )
    title = models.CharField(_("职称"), max_length=50, blank=True)
    fields = models.CharField(_("技术领域"), max_length=300, blank=True)
    expertise = models.TextField(_("服务专长"))
    dispatch_unit = models.CharField(_("派出单位"), max_length=200, blank=True)
    served_enterprise = models.CharField(_("服务企业"), max_length=200, blank=True)
    term_start = models.DateField(_("服务期起"), null=True, blank=True)
    term_end = models.DateField(_("服务期止"), null=True, blank=True)

    MULTI_CHOICE_FIELDS = {"fields": HighTechField}
    OWNER_USER_FIELD = "user"

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("科技特派员")
        verbose_name_plural = _("科技特派员")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__isnull=True)
                | models.Q(term_start__isnull=True)
                | models.Q(term_end__gte=models.F("term_start")),
                name="commissioner_term_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValidationError({"term_end": _("服务期止不能早于服务期起")})
