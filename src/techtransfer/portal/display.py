"""How registry records are shown on pages: columns, labels and readable values.

Presentation only: nothing here decides who may see what (that is ``core.access``).
"""

import datetime
import decimal
from dataclasses import dataclass

from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from techtransfer.achievements.choices import IPKind
from techtransfer.core.registry import RegistryKind

EMPTY = "—"

# The table columns of each list page, besides the title (first) which links to the record.
LIST_COLUMNS = {
    "achievements": ("high_tech_field", "readiness_level", "transfer_modes", "asking_price", "organization", "region"),
    "demands": ("fields", "budget", "deadline", "is_bottleneck", "organization", "region"),
    "experts": ("title", "discipline", "fields", "organization"),
    "commissioners": ("title", "dispatch_unit", "served_enterprise", "fields", "region"),
    "instruments": ("category", "model_number", "maker", "organization", "is_shared", "fee"),
    "pilotbases": ("level", "fields", "organization", "region"),
}

# Never shown as a plain field on a detail page: bookkeeping, account links, or shown elsewhere.
DETAIL_HIDDEN = frozenset(
    {
        "id",
        "user",
        "created_by",
        "review_comment",
        "is_example",
        "contact_name",
        "contact_phone",
        "contact_email",
        "status",
        "created_at",
        "updated_at",
        "published_at",
    }
)

ORDERING_DIRECTIONS = {
    "": gettext_lazy("升序"),
    "-": gettext_lazy("降序"),
}


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    value: object  # str, or a list of str for ``many``
    many: bool = False
    long: bool = False
    url: str = ""


def money(value) -> str:
    if value is None:
        return EMPTY
    return intcomma(number_format(decimal.Decimal(value), decimal_pos=2))


def wan(value) -> str:
    """An amount in yuan shown in 万元 with at most two decimals: ``12345600`` → ``1,234.56``."""
    amount = decimal.Decimal(value or 0) / 10000
    return intcomma(number_format(amount.quantize(decimal.Decimal("0.01")), decimal_pos=2))


def ip_item_text(item: dict) -> str:
    kind = dict(IPKind.choices).get(item.get("kind"), item.get("kind", ""))
    parts = [str(kind), str(item.get("number", "")).strip(), str(item.get("title", "") or "").strip()]
    return " ".join(p for p in parts if p)


def field_value(obj, name: str):
    """``obj.<name>`` as people read it: choice labels, 是/否, amounts with separators, lists."""
    field = obj._meta.get_field(name)
    value = getattr(obj, name)
    if name in getattr(obj, "MULTI_CHOICE_FIELDS", {}):
        return "、".join(obj.multi_labels(name)) or EMPTY
    if value is None or value == "" or value == []:
        return EMPTY if not isinstance(field, models.BooleanField) else _("否")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("是") if value else _("否")
    if isinstance(field, models.DecimalField):
        return money(value)
    if isinstance(field, models.DateTimeField):
        return date_filter(value, "Y-m-d H:i")
    if isinstance(field, models.DateField) or isinstance(value, datetime.date):
        return date_filter(value, "Y-m-d")
    if isinstance(field, models.JSONField):
        if name == "ip_items":
            return [ip_item_text(item) for item in value if isinstance(item, dict)]
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
    return str(value)


def column_labels(kind: RegistryKind) -> list[str]:
    meta = kind.model._meta
    return [str(meta.get_field(name).verbose_name) for name in LIST_COLUMNS[kind.slug]]


def cell_class(field) -> str:
    if isinstance(field, models.DecimalField | models.IntegerField) and not field.choices:
        return "num"
    if isinstance(field, models.DateField | models.BooleanField):
        return "nowrap"
    return ""


def row_cells(kind: RegistryKind, obj) -> list[tuple[str, str]]:
    """``(value, css class)`` for each column: amounts right-aligned, dates kept on one line."""
    meta = obj._meta
    return [(field_value(obj, name), cell_class(meta.get_field(name))) for name in LIST_COLUMNS[kind.slug]]


def detail_rows(obj) -> list[Row]:
    """Every content field of ``obj`` with its Chinese label, in model order."""
    rows = []
    for field in obj._meta.concrete_fields:
        if field.name in DETAIL_HIDDEN:
            continue
        value = field_value(obj, field.name)
        if value == EMPTY and field.name == "source":
            continue
        url = ""
        if field.name == "organization" and obj.organization_id:
            url = reverse("portal:organization_detail", args=[obj.organization_id])
        rows.append(
            Row(
                name=field.name,
                label=str(field.verbose_name),
                value=value,
                many=isinstance(value, list),
                long=isinstance(field, models.TextField),
                url=url,
            )
        )
    return rows


def ordering_choices(kind: RegistryKind) -> list[tuple[str, str]]:
    meta = kind.model._meta
    choices = []
    for name in kind.orderings:
        label = meta.get_field(name).verbose_name
        for sign in ("-", ""):
            choices.append((f"{sign}{name}", format_lazy("{}（{}）", label, ORDERING_DIRECTIONS[sign])))
    return choices


def field_label(model, name: str) -> str:
    """The Chinese name of ``model``'s field ``name``; ``name`` itself for a field since removed (or no model)."""
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):
        return name


def changed_field_labels(model, changes: dict) -> list[str]:
    """The Chinese names of the fields an audit event says were changed (never their values)."""
    return [field_label(model, name) for name in changes or {}]


def _short(value, limit: int = 60) -> str:
    text = EMPTY if value in (None, "", [], {}) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_lines(model, changes: dict) -> list[str]:
    """``{"title": ["旧", "新"]}`` as ``成果名称：旧 → 新`` for the audit log (auditors see values)."""
    lines = []
    for name, pair in (changes or {}).items():
        label = field_label(model, name)
        if isinstance(pair, list | tuple) and len(pair) == 2:
            lines.append(f"{label}：{_short(pair[0])} → {_short(pair[1])}")
        else:
            lines.append(f"{label}：{_short(pair)}")
    return lines


def list_deferred_fields(kind) -> list[str]:
    """Long text and JSON columns a list page never shows: not loading them keeps the sort small."""
    shown = {kind.title_field, *LIST_COLUMNS[kind.slug]}
    return [
        f.name
        for f in kind.model._meta.concrete_fields
        if isinstance(f, models.TextField | models.JSONField) and f.name not in shown
    ]
