"""The fact catalogue: every fact a condition or formula may read, with its type, unit and Chinese label.

A fact is a value about one entity (an enterprise, an institution, a project, a person, a fund, a portfolio)
for the period evaluated. Inputs are checked against the catalogue before any rule runs, so a wrong value is
refused with a message naming the fact, not discovered halfway through an evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from .errors import ErrorCollector, RuleError, RuleErrorCode

# Numbers above this many 元 (or people, or points) are refused: it keeps every value and every amount in fen
# far inside the range where the batch path's floating-point bounds and int64 fen are exact.
MAX_MAGNITUDE = Decimal(10) ** 15


class EntityKind(StrEnum):
    ENTERPRISE = "enterprise"
    INSTITUTION = "institution"
    PROJECT = "project"
    PERSON = "person"
    FUND = "fund"
    PORTFOLIO = "portfolio"


ENTITY_LABELS = {
    EntityKind.ENTERPRISE: "企业",
    EntityKind.INSTITUTION: "高校院所",
    EntityKind.PROJECT: "项目",
    EntityKind.PERSON: "个人",
    EntityKind.FUND: "基金",
    EntityKind.PORTFOLIO: "项目或企业组合",
}


class FactType(StrEnum):
    INT = "int"  # counts and years
    NUMBER = "number"  # scores and other decimals
    MONEY = "money"  # 元, at most two decimals (fen)
    RATIO = "ratio"  # a share between 0 and 1
    BOOL = "bool"
    ENUM = "enum"  # one of the listed codes

    @property
    def is_numeric(self) -> bool:
        return self in (FactType.INT, FactType.NUMBER, FactType.MONEY, FactType.RATIO)


TYPE_LABELS = {
    FactType.INT: "整数",
    FactType.NUMBER: "数值",
    FactType.MONEY: "金额（元）",
    FactType.RATIO: "比例（0 到 1）",
    FactType.BOOL: "是/否",
    FactType.ENUM: "选项",
}

RESERVED_NAMES = frozenset({"p", "param", "period_year", "min", "max", "abs", "coalesce", "fen", "True", "False"})


@dataclass(frozen=True)
class Fact:
    name: str
    type: FactType
    label: str
    entities: tuple[EntityKind, ...]
    unit: str = ""
    description: str = ""
    choices: dict[str, str] = field(default_factory=dict)  # code → Chinese label, for ENUM

    def describe(self) -> str:
        return f"「{self.label}」（{self.name}）"

    def coerce(self, value):
        """The checked input value: int, Decimal, bool, str (an enum code) or None for missing."""
        if value is None:
            return None
        t = self.type
        if t is FactType.BOOL:
            if isinstance(value, bool):
                return value
            raise ValueError(f"{self.describe()}应为是/否（true/false），收到「{value}」")
        if t is FactType.ENUM:
            if isinstance(value, str) and value in self.choices:
                return value
            options = "、".join(f"{code}（{label}）" for code, label in self.choices.items())
            raise ValueError(f"{self.describe()}没有取值「{value}」，可选：{options}")
        number = _to_decimal(value)
        if number is None:
            raise ValueError(f"{self.describe()}应为{TYPE_LABELS[t]}，收到「{value}」")
        if abs(number) > MAX_MAGNITUDE:
            raise ValueError(f"{self.describe()}超出可处理的范围（绝对值不超过 10¹⁵），收到「{value}」")
        if t is FactType.INT:
            if number != number.to_integral_value():
                raise ValueError(f"{self.describe()}应为整数，收到「{value}」")
            return int(number)
        if t is FactType.MONEY:
            if number < 0:
                raise ValueError(f"{self.describe()}不能为负数，收到「{value}」")
            if number != number.quantize(Decimal("0.01")):
                raise ValueError(f"{self.describe()}最多保留两位小数（分），收到「{value}」")
        if t is FactType.RATIO and not (0 <= number <= 1):
            raise ValueError(f"{self.describe()}应为 0 到 1 之间的比例（如 0.6 表示 60%），收到「{value}」")
        return number


def _to_decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # A float stands for its shortest decimal spelling (0.1 is 0.1), which is what a person typed.
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Fraction):
        return None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


class FactCatalogue:
    """The known facts, by name."""

    def __init__(self, facts: list[Fact]):
        self.facts: dict[str, Fact] = {}
        errors = ErrorCollector()
        for fact in facts:
            if fact.name in self.facts:
                errors.add(RuleErrorCode.BAD_RULE, f"facts.{fact.name}", f"事实「{fact.name}」重复定义")
            if fact.name in RESERVED_NAMES or not fact.name.isidentifier() or fact.name.startswith("_"):
                errors.add(RuleErrorCode.BAD_RULE, f"facts.{fact.name}", f"「{fact.name}」不能用作事实名称")
            if fact.type is FactType.ENUM and not fact.choices:
                errors.add(RuleErrorCode.BAD_RULE, f"facts.{fact.name}", f"选项型事实「{fact.name}」须列出 choices")
            self.facts[fact.name] = fact
        errors.raise_if_any()

    def __contains__(self, name: str) -> bool:
        return name in self.facts

    def __getitem__(self, name: str) -> Fact:
        return self.facts[name]

    def __iter__(self):
        return iter(self.facts.values())

    def __len__(self) -> int:
        return len(self.facts)

    def for_entity(self, entity: EntityKind) -> list[Fact]:
        return [f for f in self.facts.values() if entity in f.entities]

    def coerce(self, facts: dict) -> dict:
        """Checks a mapping of input facts; raises one RuleError listing every bad value."""
        if not isinstance(facts, dict):
            raise RuleError(RuleErrorCode.BAD_VALUE, "事实应为“名称: 取值”的映射")
        errors = ErrorCollector()
        out = {}
        for name, value in facts.items():
            fact = self.facts.get(name)
            if fact is None:
                errors.add(RuleErrorCode.UNKNOWN_FACT, str(name), f"未知的事实「{name}」")
                continue
            try:
                out[name] = fact.coerce(value)
            except ValueError as exc:
                errors.add(RuleErrorCode.BAD_VALUE, name, str(exc))
        errors.raise_if_any()
        return out


def catalogue_from_data(data: dict) -> FactCatalogue:
    """Builds the catalogue from the ``facts:`` mapping of ``library/facts.yaml``."""
    errors = ErrorCollector()
    facts = []
    for name, spec in (data or {}).items():
        where = f"facts.{name}"
        if not isinstance(spec, dict):
            errors.add(RuleErrorCode.BAD_RULE, where, f"事实「{name}」的定义应为映射")
            continue
        try:
            ftype = FactType(spec.get("type"))
        except ValueError:
            allowed = "、".join(t.value for t in FactType)
            errors.add(
                RuleErrorCode.BAD_RULE, where, f"事实「{name}」的类型「{spec.get('type')}」无效，可选：{allowed}"
            )
            continue
        raw_entities = spec.get("entities") or []
        if isinstance(raw_entities, str):
            raw_entities = [raw_entities]
        try:
            entities = tuple(EntityKind(e) for e in raw_entities)
        except ValueError:
            errors.add(RuleErrorCode.BAD_RULE, where, f"事实「{name}」的适用对象 {raw_entities} 无效")
            continue
        if not entities:
            errors.add(RuleErrorCode.BAD_RULE, where, f"事实「{name}」须注明适用对象（entities）")
            continue
        if not spec.get("label"):
            errors.add(RuleErrorCode.BAD_RULE, where, f"事实「{name}」须有中文名称（label）")
            continue
        choices = {str(k): str(v) for k, v in (spec.get("choices") or {}).items()}
        facts.append(
            Fact(
                name=str(name),
                type=ftype,
                label=str(spec["label"]),
                entities=entities,
                unit=str(spec.get("unit") or ""),
                description=str(spec.get("description") or ""),
                choices=choices,
            )
        )
    errors.raise_if_any()
    return FactCatalogue(facts)
