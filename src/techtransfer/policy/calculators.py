"""Calculators built on clauses: the same rules and trace, with arguments named for the person using them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .library import Library, default_library
from .results import ClauseResult, Status
from .rowwise import evaluate

SPLIT_CLAUSE = "huaibei.transfer_income_split"


@dataclass(frozen=True)
class IncomeSplit:
    """How one commercialization income is shared: 成果完成人、技术转移人员、单位留存 (元, fen precision)."""

    inventors: Decimal | None
    transfer_staff: Decimal | None
    unit: Decimal | None
    result: ClauseResult  # status, missing facts, trace (parameters with their sources)

    @property
    def applies(self) -> bool:
        return self.result.status is Status.ELIGIBLE


def split_commercialization_income(
    income,
    *,
    period,
    applied_on,
    unit_kind: str = "university",
    has_transfer_office: bool = True,
    inventor_share_rate=None,
    transfer_staff_share_rate=None,
    library: Library | None = None,
) -> IncomeSplit:
    """Splits a commercialization income among inventors, technology-transfer staff and the unit.

    Rates left as ``None`` take the defaults of the rules in force on ``applied_on`` (inventors: 促进科技成果转化法
    第四十五条, 50%; transfer staff: the plan's minimum of 5%, which also applies when the unit's own rate is lower).
    """
    library = library or default_library()
    facts = {
        "unit_kind": unit_kind,
        "has_transfer_office": has_transfer_office,
        "commercialization_income": income,
        "inventor_share_rate": inventor_share_rate,
        "transfer_staff_share_rate": transfer_staff_share_rate,
    }
    result = evaluate(library, SPLIT_CLAUSE, facts, period=period, applied_on=applied_on)
    out = result.outputs
    return IncomeSplit(out.get("inventors"), out.get("transfer_staff"), out.get("unit"), result)
