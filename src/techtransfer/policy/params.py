"""Parameters: the numbers (rates, thresholds, caps) and lists a rule reads, each value dated and sourced."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property

from .errors import RuleError, RuleErrorCode


@dataclass(frozen=True)
class Source:
    """Where a value or a clause comes from: the document, its 文号, the article and the words."""

    document: str = ""  # 《科技型中小企业评价办法》
    number: str = ""  # 国科发政〔2017〕115号
    issuer: str = ""  # 科技部 财政部 国家税务总局
    article: str = ""  # 第六条第（二）项
    quote: str = ""  # the words of the text
    note: str = ""

    def merged(self, other: Source | None) -> Source:
        """This source with the blanks filled from ``other`` (the policy's document)."""
        if other is None:
            return self
        return Source(
            document=self.document or other.document,
            number=self.number or other.number,
            issuer=self.issuer or other.issuer,
            article=self.article or other.article,
            quote=self.quote,
            note=self.note,
        )

    def cite(self) -> str:
        parts = [p for p in (self.document, self.number and f"（{self.number}）", self.article) if p]
        return "".join(parts[:2]) + (f" {parts[2]}" if len(parts) > 2 else "")

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}


class ParamType(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    BOOL = "bool"
    LIST = "list"


@dataclass(frozen=True)
class ParameterValue:
    value: object  # Decimal | str | bool | tuple
    effective_from: dt.date
    effective_to: dt.date | None  # inclusive; None = open
    source: Source
    example: bool = False  # a value the bureau has not set yet: the demo's stand-in

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @cached_property
    def exact(self):
        """The value for computing: numbers as exact fractions, lists as tuples of the same (converted once: the
        value never changes, and every evaluation reads it)."""
        return to_exact(self.value)


def to_exact(value):
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, Decimal | int):
        return Fraction(value)
    if isinstance(value, tuple):
        return tuple(to_exact(v) for v in value)
    return value


@dataclass(frozen=True)
class Parameter:
    name: str  # dotted: tech_sme.max_staff
    label: str
    type: ParamType
    values: tuple[ParameterValue, ...]
    unit: str = ""
    description: str = ""
    item_type: str = ""  # for lists: "number" or "text"
    defined_in: str = ""  # the library file

    def value_on(self, on: dt.date) -> ParameterValue:
        for value in self.values:
            if value.in_force(on):
                return value
        spans = "；".join(
            f"{v.effective_from.isoformat()} 至 {v.effective_to.isoformat() if v.effective_to else '长期'}"
            for v in self.values
        )
        raise RuleError(
            RuleErrorCode.NOT_IN_FORCE,
            f"参数「{self.label}」（p.{self.name}）在 {on.isoformat()} 没有生效的取值（已有取值的期间：{spans}）",
            {f"p.{self.name}": [f"{on.isoformat()} 没有生效的取值"]},
        )

    @property
    def is_example(self) -> bool:
        return any(v.example for v in self.values)


@dataclass(frozen=True)
class ResolvedParameter:
    """One parameter as used by one evaluation: the value in force and where it comes from."""

    parameter: Parameter
    value: ParameterValue

    def as_trace(self) -> dict:
        from .display import display_value

        v = self.value
        return {
            "name": self.parameter.name,
            "label": self.parameter.label,
            "unit": self.parameter.unit,
            "value": display_value(v.value),
            "effective_from": v.effective_from.isoformat(),
            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
            "source": v.source.as_dict(),
            "example": v.example,
        }


@dataclass
class ParameterSet:
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.parameters

    def __getitem__(self, name: str) -> Parameter:
        return self.parameters[name]

    def resolve(self, names, on: dt.date) -> dict[str, ResolvedParameter]:
        return {name: ResolvedParameter(self.parameters[name], self.parameters[name].value_on(on)) for name in names}
