"""One spec per importable kind: its columns, how a row is created and which records an export may list.

Adding a registry kind (commissioners, pilot bases …) is one ``KindSpec`` here: the template, the importer,
the exporter, the pages and the commands all read ``SPECS``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from techtransfer.achievements.choices import AchievementKind, AchievementStage, IPKind, PricingMethod
from techtransfer.core.choices import CooperationMode, HighTechField
from techtransfer.core.registry import KINDS, RegistryKind
from techtransfer.core.services import record_create
from techtransfer.instruments.choices import InstrumentCategory
from techtransfer.organizations.choices import OrganizationKind

from . import columns as c


@dataclass(frozen=True)
class KindSpec:
    slug: str
    label: str  # Chinese name, also the data sheet's title
    model_label: str
    columns: tuple
    create: Callable  # (*, actor, fields, request) -> the new object
    registry: RegistryKind | None = None  # registry kinds export through ``core.selectors.record_list``
    unique_fields: tuple = ()  # unique in the database: checked inside the file and against existing rows
    access_field: str = "organization"  # the column a refused row (``AccessDenied``) is reported on
    filters: dict = field(default_factory=dict)  # export filters of non-registry kinds

    @property
    def model(self):
        return apps.get_model(self.model_label)

    @property
    def noun(self) -> str:
        return str(self.model._meta.verbose_name)

    def column_for(self, field_name: str):
        return next((col for col in self.columns if col.field == field_name), None)

    def header_for(self, field_name: str) -> str | None:
        col = self.column_for(field_name)
        if col is not None:
            return col.header
        try:
            return str(self.model._meta.get_field(field_name).verbose_name)
        except FieldDoesNotExist:
            return None

    def access_message(self, fields: dict) -> str:
        target = fields.get(self.access_field)
        if self.access_field == "region":
            if target is None:
                return _("您只能登记本管辖区域内的单位，请填写所属区域")
            return _("无权在%(r)s登记单位") % {"r": c.quoted(target.name)}
        if target is None:
            return _("请填写本单位的全称（只有科技情报员和平台管理员可以不填）")
        return _("无权为%(o)s导入数据") % {"o": c.quoted(target.name)}


def registry_create(model_label: str) -> Callable:
    def create(*, actor, fields: dict, request=None):
        return record_create(model=apps.get_model(model_label), actor=actor, fields=fields, request=request)

    return create


def organization_create(*, actor, fields: dict, request=None):
    from techtransfer.organizations.services import organization_create as create

    return create(actor=actor, fields=fields, request=request)


def contact_columns() -> tuple:
    """What every registry record carries after its own columns."""
    return (
        c.organization("所属单位"),
        c.region("所属区域"),
        c.text("联系人", "contact_name"),
        c.text("联系电话", "contact_phone"),
        c.text("联系邮箱", "contact_email"),
    )


def registry_spec(slug: str, columns: tuple) -> KindSpec:
    kind = KINDS[slug]
    return KindSpec(
        slug=slug,
        label=kind.label,
        model_label=kind.model_label,
        columns=columns + contact_columns(),
        create=registry_create(kind.model_label),
        registry=kind,
    )


SPECS = {
    spec.slug: spec
    for spec in [
        registry_spec(
            "achievements",
            (
                c.text("成果名称", "title", required=True),
                c.text("成果简介", "abstract", required=True),
                c.name_list("关键词", "keywords", help="多个关键词用顿号（、）分隔，如 陶铝、复合材料"),
                c.choice("成果类型", "kind", AchievementKind),
                c.choice("成熟阶段", "stage", AchievementStage),
                c.integer("技术就绪度", "readiness_level", minimum=1, maximum=9),
                c.text("学科", "discipline"),
                c.industry("国民经济行业"),
                c.choice("高新技术领域", "high_tech_field", HighTechField),
                c.ip_items("知识产权", "ip_items", IPKind),
                c.name_list("成果权属单位", "owners", help="按贡献排序，用顿号（、）分隔"),
                c.name_list("成果完成人", "completers", help="按贡献排序，用顿号（、）分隔"),
                c.multi_choice("转化方式", "transfer_modes", CooperationMode),
                c.amount("意向价格（元）", "asking_price"),
                c.choice("定价方式", "pricing_method", PricingMethod),
                c.text("数据来源", "source"),
            ),
        ),
        registry_spec(
            "demands",
            (
                c.text("需求名称", "title", required=True),
                c.text("需求描述", "description", required=True),
                c.multi_choice("技术领域", "fields", HighTechField),
                c.industry("国民经济行业"),
                c.amount("预算（元）", "budget"),
                c.date("截止日期", "deadline"),
                c.multi_choice("合作方式", "cooperation_modes", CooperationMode),
                c.yes_no("卡脖子技术", "is_bottleneck", help="是否为“卡脖子”技术：填“是”或“否”，不填为“否”"),
            ),
        ),
        registry_spec(
            "experts",
            (
                c.text("姓名", "name", required=True),
                c.text("职称", "title"),
                c.text("学科", "discipline"),
                c.multi_choice("技术领域", "fields", HighTechField),
                c.text("研究方向与专长", "expertise", required=True),
                c.text("个人简介", "bio"),
                c.yes_no("可担任评审专家", "can_review", help="填“是”或“否”，不填为“是”"),
            ),
        ),
        registry_spec(
            "instruments",
            (
                c.text("仪器名称", "name", required=True),
                c.text("型号", "model_number"),
                c.text("生产厂商", "maker"),
                c.choice("仪器类别", "category", InstrumentCategory, required=True),
                c.text("存放地点", "location"),
                c.amount("原值（元）", "original_value"),
                c.amount("参考收费（元/机时）", "fee", help="每机时收费，单位元，如 300.00"),
                c.text("收费说明", "fee_note"),
                c.yes_no("对外共享", "is_shared", help="填“是”或“否”，不填为“是”"),
                c.text("主要功能与技术指标", "capabilities"),
            ),
        ),
        KindSpec(
            slug="organizations",
            label="单位",
            model_label="organizations.Organization",
            columns=(
                c.text("单位名称", "name", required=True),
                c.choice("单位类型", "kind", OrganizationKind, required=True),
                c.code("统一社会信用代码", "credit_code", help="18 位，按 GB 32100-2015 校验"),
                c.region("所属区域", help="本平台区域树中的区域名称或代码，如 相山区 或 340603；区域外单位不填"),
                c.division("所在地行政区划"),
                c.text("地址", "address"),
                c.text("网站", "website"),
                c.text("简介", "description"),
                c.text("联系人", "contact_name"),
                c.text("联系电话", "contact_phone"),
                c.text("联系邮箱", "contact_email"),
                c.yes_no("公开展示", "is_public", help="填“是”或“否”，不填为“是”"),
            ),
            create=organization_create,
            unique_fields=("name", "credit_code"),
            access_field="region",
            filters={"region": "region", "kind": "kind"},
        ),
    ]
}


def spec_for(slug: str) -> KindSpec | None:
    return SPECS.get(slug)
