from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import RegionKind


class Region(models.Model):
    """A node of the deployment's own region tree (city → counties, districts and parks).

    ``path`` is the chain of codes from the root, ``/340600/340603/``, so that a subtree is one
    ``startswith`` filter on every database.
    """

    code = models.CharField(_("区域代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("类型"), max_length=10, choices=RegionKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, unique=True, editable=False)
    division = models.ForeignKey(
        "core.AdminDivision",
        verbose_name=_("行政区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("GB/T 2260 代码；园区没有"),
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2
