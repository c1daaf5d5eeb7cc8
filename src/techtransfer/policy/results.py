"""What an evaluation returns: the status, the amount in fen, and the trace that explains it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum

from .errors import RuleError, RuleErrorCode


class Status(IntEnum):
    """The decision for one entity and one clause (the integer is the batch path's status code)."""

    NOT_ELIGIBLE = 0
    ELIGIBLE = 1
    MISSING = 2  # a fact the decision needs is missing: the result lists which
    UNDEFINED = 3  # the rule cannot be decided on these facts (a division by zero, an amount out of range)

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @classmethod
    def parse(cls, text) -> Status:
        if isinstance(text, Status):
            return text
        for status in cls:
            if text in (status.code, status.label, status.name):
                return status
        options = "、".join(f"{s.label}（{s.code}）" for s in cls)
        raise RuleError(RuleErrorCode.BAD_VALUE, f"结果「{text}」无效，可选：{options}")


STATUS_LABELS = {
    Status.NOT_ELIGIBLE: "不符合",
    Status.ELIGIBLE: "符合",
    Status.MISSING: "缺少事实",
    Status.UNDEFINED: "无法判定",
}


@dataclass(frozen=True)
class Period:
    """The period the facts describe: a calendar (fiscal) year."""

    year: int

    def __post_init__(self):
        if isinstance(self.year, bool) or not isinstance(self.year, int) or not 1900 <= self.year <= 2200:
            raise RuleError(RuleErrorCode.BAD_VALUE, f"评价期间「{self.year}」无效，应为年度，如 2024")

    @classmethod
    def of(cls, value) -> Period:
        if isinstance(value, Period):
            return value
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        return cls(value)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        return dt.date(self.year, 12, 31)

    def __str__(self) -> str:
        return f"{self.year} 年度"


def parse_date(value) -> dt.date:
    """A date from a date, a datetime or ISO text; ``ValueError`` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def as_date(value, field_name: str = "applied_on") -> dt.date:
    try:
        return parse_date(value)
    except ValueError:
        message = f"申请日期「{value}」无效，应写成 2025-03-01 的形式"
        raise RuleError(RuleErrorCode.BAD_VALUE, message, {field_name: [message]}) from None


@dataclass
class ClauseResult:
    """The decision for one entity and one clause, with everything needed to explain it."""

    clause_id: str
    status: Status
    amount: Decimal | None  # eligible: the amount in 元 (fen precision); not eligible: 0.00; otherwise None
    outputs: dict[str, Decimal | None]
    missing: list[str]  # fact names, in catalogue order
    trace: dict = field(default_factory=dict)

    @property
    def eligible(self) -> bool:
        return self.status is Status.ELIGIBLE

    def as_dict(self) -> dict:
        """JSON-friendly: store it beside the decision."""
        return {
            "clause": self.clause_id,
            "status": self.status.code,
            "status_label": self.status.label,
            "amount": None if self.amount is None else str(self.amount),
            "outputs": {k: None if v is None else str(v) for k, v in self.outputs.items()},
            "missing": list(self.missing),
            "trace": self.trace,
        }

    def explain(self) -> str:
        """The decision in a few Chinese lines, as an enterprise or an auditor would read it."""
        t = self.trace
        lines = [f"{t['clause']['title']}：{self.status.label}"]
        if self.amount is not None and self.status is Status.ELIGIBLE and t.get("amount"):
            lines[0] += f"，金额 {self.amount} 元"
        for c in t.get("conditions", []):
            mark = {True: "✓", False: "✗", None: "？"}[c["value"]]
            lines.append(f"  {mark} {c['text']}")
        if self.missing:
            lines.append("  缺少：" + "、".join(t["facts"][m]["label"] for m in self.missing if m in t["facts"]))
        for note in t.get("notes", []):
            lines.append(f"  注：{note}")
        for p in t.get("parameters", []):
            src = p["source"]
            cite = "".join(x for x in (src.get("number") or src.get("document", ""), " " + src.get("article", "")))
            example = "（示例值）" if p["example"] else ""
            lines.append(f"  · {p['label']} = {p['value']}{p['unit']}{example}，依据 {cite.strip()}")
        return "\n".join(lines)
