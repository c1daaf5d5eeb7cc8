"""Spreadsheet columns: a Chinese header, the model field, a parser from cell text and a formatter back to text.

A parser receives the cell's text (never empty: empty cells are handled by the importer) and a ``Lookups``
object for code lists, regions and organizations; it returns the model value or raises ``CellError`` with a
Chinese message. A formatter turns the stored value back into the text a parser accepts, so an export
re-imports.
"""

import datetime
import decimal
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from techtransfer.core import multichoice

LIST_SEPARATORS = re.compile(r"[、，,；;\n]+")
IP_ITEM_SEPARATORS = re.compile(r"[；;\n]+")
IP_PART_SEPARATORS = re.compile(r"[:：]")
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×"}


class CellError(Exception):
    """A cell whose text cannot become a value; ``message`` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def quoted(text: str) -> str:
    return f"“{text}”"


@dataclass(frozen=True)
class Column:
    header: str  # Chinese header as people see it, without the required mark
    field: str  # model field it fills
    parse: Callable[[str, Any], Any]
    format: Callable[[Any], str]
    required: bool = False
    help: str = ""  # how to fill it, for the help sheet and the cell prompt
    options: tuple = ()  # allowed labels, for the help sheet and the drop-down list
    strict_options: bool = False  # the drop-down list refuses anything else (single choices)
    lookup: str = ""  # "organization": the importer loads every name in the file in one query

    @property
    def template_header(self) -> str:
        return f"{self.header}*" if self.required else self.header


def plain_header(text: str) -> str:
    """``成果名称*`` and ``成果名称 ＊`` are both ``成果名称``."""
    return re.sub(r"[\s*＊]+$", "", text.strip()).strip()


# --- text ---------------------------------------------------------------------------------------------------


def _as_text(value) -> str:
    return "" if value is None else str(value)


def text(header: str, field_name: str, *, required: bool = False, help: str = "") -> Column:
    return Column(header, field_name, lambda value, lookups: value, _as_text, required=required, help=help)


def code(header: str, field_name: str, *, required: bool = False, help: str = "") -> Column:
    """An identifier such as a credit code: spaces removed, letters in upper case."""
    return Column(
        header,
        field_name,
        lambda value, lookups: re.sub(r"\s+", "", value).upper(),
        _as_text,
        required=required,
        help=help,
    )


# --- numbers and dates --------------------------------------------------------------------------------------


def integer(header: str, field_name: str, *, minimum: int, maximum: int, required: bool = False) -> Column:
    def parse(value: str, lookups) -> int:
        try:
            number = decimal.Decimal(value)
        except decimal.InvalidOperation:
            number = None
        if number is None or number != number.to_integral_value() or not minimum <= number <= maximum:
            raise CellError(
                _("应为 %(min)d–%(max)d 的整数，实际为%(v)s") % {"min": minimum, "max": maximum, "v": quoted(value)}
            )
        return int(number)

    return Column(
        header,
        field_name,
        parse,
        _as_text,
        required=required,
        help=_("%(min)d–%(max)d 的整数") % {"min": minimum, "max": maximum},
    )


def _parse_amount(value: str, lookups) -> decimal.Decimal:
    cleaned = re.sub(r"[\s,，]", "", value).removesuffix("元").removeprefix("¥").removeprefix("￥")
    try:
        amount = decimal.Decimal(cleaned)
    except decimal.InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise CellError(_("应为不小于 0 的金额（元），实际为%(v)s") % {"v": quoted(value)})
    return amount


def _format_amount(value) -> str:
    return "" if value is None else f"{value:f}"


def amount(header: str, field_name: str, *, required: bool = False, help: str = "") -> Column:
    return Column(
        header,
        field_name,
        _parse_amount,
        _format_amount,
        required=required,
        help=help or _("金额，单位元，最多两位小数，如 1200000.00"),
    )


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d")


def _parse_date(value: str, lookups) -> datetime.date:
    for form in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise CellError(_("应为 YYYY-MM-DD 格式的日期，实际为%(v)s") % {"v": quoted(value)})


def date(header: str, field_name: str, *, required: bool = False) -> Column:
    return Column(
        header,
        field_name,
        _parse_date,
        lambda value: value.isoformat() if value else "",
        required=required,
        help=_("日期，格式 YYYY-MM-DD，如 2025-06-30"),
    )


def _parse_bool(value: str, lookups) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_("应为“是”或“否”，实际为%(v)s") % {"v": quoted(value)})


def yes_no(header: str, field_name: str, *, help: str = "") -> Column:
    return Column(
        header,
        field_name,
        _parse_bool,
        lambda value: "是" if value else "否",
        help=help or _("填“是”或“否”"),
        options=("是", "否"),
        strict_options=True,
    )


# --- choices ------------------------------------------------------------------------------------------------


def _choice_maps(choices) -> tuple[dict, dict]:
    by_text = {}
    for value, label in choices.choices:
        by_text[str(value)] = value
        by_text[str(label)] = value
    return by_text, {value: str(label) for value, label in choices.choices}


def choice(header: str, field_name: str, choices, *, required: bool = False) -> Column:
    """One of a ``TextChoices`` class, written as its Chinese label (the code value is accepted too)."""
    by_text, labels = _choice_maps(choices)
    options = tuple(labels.values())

    def parse(value: str, lookups) -> str:
        if value not in by_text:
            raise CellError(_("应为以下之一：%(o)s，实际为%(v)s") % {"o": "、".join(options), "v": quoted(value)})
        return by_text[value]

    return Column(
        header,
        field_name,
        parse,
        lambda value: labels.get(value, value or ""),
        required=required,
        help=_("从下拉列表选择：%(o)s") % {"o": "、".join(options)},
        options=options,
        strict_options=True,
    )


def multi_choice(header: str, field_name: str, choices, *, required: bool = False) -> Column:
    """Several labels separated by 、，, — stored as a ``,a,b,`` string (``core.multichoice``)."""
    by_text, labels = _choice_maps(choices)
    options = tuple(labels.values())

    def parse(value: str, lookups) -> str:
        items = [item.strip() for item in LIST_SEPARATORS.split(value) if item.strip()]
        unknown = [item for item in items if item not in by_text]
        if unknown:
            raise CellError(
                _("不认识的选项%(u)s，可选：%(o)s") % {"u": "、".join(map(quoted, unknown)), "o": "、".join(options)}
            )
        return multichoice.encode(by_text[item] for item in items)

    return Column(
        header,
        field_name,
        parse,
        lambda value: "、".join(labels.get(v, v) for v in multichoice.decode(value)),
        required=required,
        help=_("可多选，用顿号（、）或逗号分隔：%(o)s") % {"o": "、".join(options)},
        options=options,
    )


# --- lists --------------------------------------------------------------------------------------------------


def _parse_list(value: str, lookups) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in LIST_SEPARATORS.split(value) if item.strip()))


def name_list(header: str, field_name: str, *, help: str = "") -> Column:
    """Keywords, owners, completers: a JSON list written as ``a、b、c``."""
    return Column(
        header,
        field_name,
        _parse_list,
        lambda value: "、".join(value or []),
        help=help or _("多项用顿号（、）分隔"),
    )


def ip_items(header: str, field_name: str, kinds) -> Column:
    """``发明专利:ZL202310123456.6;实用新型专利:ZL…`` — each item ``类型:编号`` or ``类型:编号:名称``."""
    by_text, labels = _choice_maps(kinds)
    options = "、".join(labels.values())

    def parse(value: str, lookups) -> list[dict]:
        items = []
        for position, part in enumerate((p.strip() for p in IP_ITEM_SEPARATORS.split(value) if p.strip()), start=1):
            pieces = [p.strip() for p in IP_PART_SEPARATORS.split(part, maxsplit=2)]
            if len(pieces) < 2 or not pieces[1]:
                raise CellError(
                    _("第 %(i)d 项应写成“类型:编号”，如 发明专利:ZL202310123456.6，实际为%(v)s")
                    % {"i": position, "v": quoted(part)}
                )
            if pieces[0] not in by_text:
                raise CellError(
                    _("第 %(i)d 项的类型%(k)s不正确，可选：%(o)s")
                    % {"i": position, "k": quoted(pieces[0]), "o": options}
                )
            item = {"kind": by_text[pieces[0]], "number": pieces[1]}
            if len(pieces) == 3 and pieces[2]:
                item["title"] = pieces[2]
            items.append(item)
        return items

    def format_items(value) -> str:
        parts = []
        for item in value or []:
            text_item = f"{labels.get(item.get('kind'), item.get('kind', ''))}:{item.get('number', '')}"
            if item.get("title"):
                text_item += f":{item['title']}"
            parts.append(text_item)
        return ";".join(parts)

    return Column(
        header,
        field_name,
        parse,
        format_items,
        help=_(
            "每项写成“类型:编号”，多项用分号（;）分隔，"
            "如 发明专利:ZL202310123456.6;软件著作权:2023SR0123456。类型：%(o)s"
        )
        % {"o": options},
        options=tuple(labels.values()),
    )


# --- references ---------------------------------------------------------------------------------------------


def _parse_industry(value: str, lookups):
    code = value.split()[0].upper()
    industry = lookups.industry(code)
    if industry is None:
        raise CellError(_("不是 GB/T 4754-2017 国民经济行业代码：%(v)s") % {"v": quoted(value)})
    return industry


def industry(header: str, field_name: str = "industry") -> Column:
    return Column(
        header,
        field_name,
        _parse_industry,
        lambda value: value.code if value else "",
        help=_("GB/T 4754-2017 行业代码（门类、大类、中类或小类），如 3841 或 C"),
    )


def _parse_region(value: str, lookups):
    found = lookups.region(value)
    if found is None:
        raise CellError(_("区域树中没有%(v)s（可填区域代码或名称）") % {"v": quoted(value)})
    if found == "ambiguous":
        raise CellError(_("有多个名为%(v)s的区域，请填写区域代码") % {"v": quoted(value)})
    return found


def region(header: str, field_name: str = "region", *, help: str = "") -> Column:
    return Column(
        header,
        field_name,
        _parse_region,
        lambda value: value.name if value else "",
        help=help or _("本平台区域树中的区域名称或代码，如 相山区 或 340603；不填则取所属单位的区域"),
        lookup="region",
    )


def _parse_division(value: str, lookups):
    division = lookups.division(value.split()[0])
    if division is None:
        raise CellError(_("不是 GB/T 2260 行政区划代码：%(v)s") % {"v": quoted(value)})
    return division


def division(header: str, field_name: str = "division") -> Column:
    return Column(
        header,
        field_name,
        _parse_division,
        lambda value: value.code if value else "",
        help=_("GB/T 2260 六位行政区划代码，如 340603"),
    )


def _parse_organization(value: str, lookups):
    organization = lookups.organization(value)
    if organization is None:
        raise CellError(_("平台上没有名为%(v)s的单位（须与登记的单位全称完全一致）") % {"v": quoted(value)})
    return organization


def organization(header: str, field_name: str = "organization", *, required: bool = False) -> Column:
    return Column(
        header,
        field_name,
        _parse_organization,
        lambda value: value.name if value else "",
        required=required,
        help=_("已在平台登记的单位全称"),
        lookup="organization",
    )


@dataclass
class Lookups:
    """Code lists, regions and organizations, each loaded once per import."""

    _industries: dict | None = None
    _divisions: dict = field(default_factory=dict)
    _regions: dict | None = None
    _organizations: dict = field(default_factory=dict)

    def industry(self, code: str):
        if self._industries is None:
            from techtransfer.core.models import IndustryCode

            self._industries = IndustryCode.objects.in_bulk()
        return self._industries.get(code)

    def division(self, code: str):
        if code not in self._divisions:
            from techtransfer.core.models import AdminDivision

            self._divisions[code] = AdminDivision.objects.filter(code=code).first()
        return self._divisions[code]

    def region(self, value: str):
        if self._regions is None:
            from techtransfer.regions.models import Region

            self._regions = {}
            regions = list(Region.objects.all())
            for r in regions:
                self._regions[r.code] = r
            for r in regions:
                if r.name in self._regions and self._regions[r.name] is not r:
                    self._regions[r.name] = "ambiguous"
                else:
                    self._regions.setdefault(r.name, r)
        return self._regions.get(value)

    def load_organizations(self, names) -> None:
        from techtransfer.organizations.models import Organization

        wanted = [n for n in set(names) if n and n not in self._organizations]
        found = {o.name: o for o in Organization.objects.filter(name__in=wanted).select_related("region")}
        for name in wanted:
            self._organizations[name] = found.get(name)

    def organization(self, name: str):
        if name not in self._organizations:
            self.load_organizations([name])
        return self._organizations[name]
