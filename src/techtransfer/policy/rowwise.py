"""The row-wise path: one entity, one clause, exact arithmetic, and a trace of every step.

Numbers are ``fractions.Fraction`` (decimal facts and constants are exact; nothing passes through a float), and
amounts are rounded half up to the fen once, at the end (or where a formula says ``fen(…)``). This is the
reference semantics: the batch path (:mod:`techtransfer.policy.vector`) must reproduce it bit for bit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from .display import display_value, fen_to_decimal
from .expr import CMP_WORDS, Node, Scope, describe
from .facts import FactCatalogue
from .library import TRACK_LABELS, Clause, ClauseVersion, Library
from .results import ClauseResult, Period, Status, as_date

ZERO = Fraction(0)
# Amounts above 10¹⁵ 元 cannot be paid and would leave int64 fen: such a result is "无法判定".
MAX_FEN = 10**17


def round_half_up_fen(value: Fraction) -> int:
    """``value`` 元 rounded half away from zero to whole fen (the convention of 四舍五入)."""
    n, d = value.numerator, value.denominator
    q = (200 * abs(n) + d) // (2 * d)
    return q if n >= 0 else -q


def _short(v) -> str:
    if isinstance(v, list):
        return "、".join(str(x) for x in v)
    if v is True or v is False:
        return "是" if v else "否"
    return str(v)


class Unknown:
    """A value that cannot be known: the facts whose absence caused it, and other reasons (division by zero)."""

    __slots__ = ("missing", "reasons")

    def __init__(self, missing=frozenset(), reasons=()):
        self.missing = frozenset(missing)
        self.reasons = tuple(reasons)

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.missing)}, {self.reasons})"


def _merge(*values) -> Unknown:
    missing = frozenset().union(*(v.missing for v in values if isinstance(v, Unknown)))
    reasons = []
    for v in values:
        if isinstance(v, Unknown):
            reasons.extend(r for r in v.reasons if r not in reasons)
    return Unknown(missing, reasons)


def _is_unknown(v) -> bool:
    return isinstance(v, Unknown)


class RowEvaluator:
    """Evaluates checked expressions for one entity; records each condition it meets."""

    def __init__(self, facts: dict, params: dict, period_year: int, scope: Scope | None = None):
        self.facts = facts  # name → int | Decimal | bool | str | None (already checked)
        self.params = params  # name → exact value
        self.period_year = Fraction(period_year)
        self.scope = scope
        self.conditions: list[dict] = []

    def eval(self, node: Node):
        return getattr(self, f"op_{node.op}")(node)

    def record(self, node: Node, value, operands=()) -> None:
        if self.scope is None:
            return
        entry = {
            "expr": node.src,
            "text": describe(node, self.scope),
            "value": None if _is_unknown(value) else bool(value),
            "missing": sorted(value.missing) if _is_unknown(value) else [],
        }
        if operands:
            shown = [None if _is_unknown(v) else display_value(v) for v in operands]
            entry["operands"] = shown
            parts = []
            for arg, v in zip(node.args, shown, strict=True):
                words = describe(arg, self.scope)
                if arg.op != "const":
                    if v is not None and arg.enum_fact:
                        v = self.scope.catalogue[arg.enum_fact].choices.get(v, v)
                    words += "（缺）" if v is None else f"（{_short(v)}）"
                parts.append(words)
            word = CMP_WORDS[node.value] if node.op == "cmp" else ("不属于" if node.value else "属于")
            entry["text"] = f"{parts[0]} {word} {parts[1]}"
        self.conditions.append(entry)

    # leaves
    def op_const(self, node):
        return node.value

    def op_fact(self, node):
        v = self.facts.get(node.value)
        if v is None:
            out = Unknown({node.value})
        elif isinstance(v, bool | str):
            out = v
        else:
            out = Fraction(v)
        if node.type == "bool":
            self.record(node, out)
        return out

    def op_param(self, node):
        return self.params[node.value]

    def op_builtin(self, node):
        return self.period_year

    # logic (three-valued)
    def op_and(self, node):
        values = [self.eval(a) for a in node.args]
        if any(v is False for v in values):
            return False
        if any(_is_unknown(v) for v in values):
            return _merge(*values)
        return True

    def op_or(self, node):
        values = [self.eval(a) for a in node.args]
        if any(v is True for v in values):
            return True
        if any(_is_unknown(v) for v in values):
            return _merge(*values)
        return False

    def op_not(self, node):
        v = self.eval(node.args[0])
        return v if _is_unknown(v) else not v

    # arithmetic
    def _binary(self, node):
        a, b = self.eval(node.args[0]), self.eval(node.args[1])
        if _is_unknown(a) or _is_unknown(b):
            return None, None, _merge(a, b)
        return a, b, None

    def op_add(self, node):
        a, b, unknown = self._binary(node)
        return unknown if unknown else a + b

    def op_sub(self, node):
        a, b, unknown = self._binary(node)
        return unknown if unknown else a - b

    def op_mul(self, node):
        a, b, unknown = self._binary(node)
        return unknown if unknown else a * b

    def op_div(self, node):
        a, b, unknown = self._binary(node)
        if unknown:
            return unknown
        if b == 0:
            return Unknown(reasons=(f"除数为零，无法计算「{node.src}」",))
        return a / b

    def op_neg(self, node):
        v = self.eval(node.args[0])
        return v if _is_unknown(v) else -v

    def op_abs(self, node):
        v = self.eval(node.args[0])
        return v if _is_unknown(v) else abs(v)

    def op_fen(self, node):
        v = self.eval(node.args[0])
        return v if _is_unknown(v) else Fraction(round_half_up_fen(v), 100)

    def op_min(self, node):
        values = [self.eval(a) for a in node.args]
        return _merge(*values) if any(_is_unknown(v) for v in values) else min(values)

    def op_max(self, node):
        values = [self.eval(a) for a in node.args]
        return _merge(*values) if any(_is_unknown(v) for v in values) else max(values)

    def op_coalesce(self, node):
        values = [self.eval(a) for a in node.args]
        for v in values:
            if not _is_unknown(v):
                return v
        return _merge(*values)

    # comparisons and choice
    def op_cmp(self, node):
        a, b = self.eval(node.args[0]), self.eval(node.args[1])
        if _is_unknown(a) or _is_unknown(b):
            out = _merge(a, b)
        else:
            out = {
                "<": a < b,
                "<=": a <= b,
                ">": a > b,
                ">=": a >= b,
                "==": a == b,
                "!=": a != b,
            }[node.value]
        self.record(node, out, (a, b))
        return out

    def op_in(self, node):
        a, items = self.eval(node.args[0]), self.eval(node.args[1])
        out = _merge(a) if _is_unknown(a) else ((a in items) != node.value)
        self.record(node, out, (a, items))
        return out

    def op_if(self, node):
        c, x, y = (self.eval(a) for a in node.args)
        if _is_unknown(c):
            return _merge(c, x, y)
        return x if c else y


def _final_amount(amount, cap=None):
    """max(0, min(amount, cap)) in fen (no cap: max(0, amount)), or Unknown. Amounts and outputs alike."""
    if _is_unknown(amount) or _is_unknown(cap):
        return _merge(amount, cap)
    value = amount if cap is None else min(amount, cap)
    fen = round_half_up_fen(max(value, ZERO))
    if fen > MAX_FEN:
        return Unknown(reasons=("金额超出可处理的范围（10¹⁵ 元）",))
    return fen


def _ordered(names, catalogue: FactCatalogue) -> list[str]:
    order = {name: i for i, name in enumerate(catalogue.facts)}
    return sorted(names, key=lambda n: order.get(n, len(order)))


def evaluate(library: Library, clause_id: str, facts: dict, *, period, applied_on) -> ClauseResult:
    """Evaluates one clause for one entity, with the clause version and parameters in force on ``applied_on``.

    ``period`` is the year the facts describe; ``applied_on`` is the date of application (or of the decision
    being re-examined). They are separate on purpose: the 2024 facts of an application filed on 2025-03-01 are
    judged by the rules of 2025-03-01.
    """
    clause = library.clause(clause_id)
    applied_on = as_date(applied_on)
    version = clause.version_on(applied_on)
    return evaluate_version(library, clause, version, facts, period=period, applied_on=applied_on)


def evaluate_version(
    library: Library,
    clause: Clause,
    version: ClauseVersion,
    facts: dict,
    *,
    period,
    applied_on: dt.date,
    trace: bool = True,
) -> ClauseResult:
    """As :func:`evaluate` for a given clause version; ``trace=False`` skips the explanation (same decision)."""
    period = Period.of(period)
    applied_on = as_date(applied_on)
    checked = library.catalogue.coerce(facts)
    resolved = library.parameters.resolve(sorted(version.params), applied_on)
    params = {name: r.value.exact for name, r in resolved.items()}
    scope = library.scope(clause.entity)
    ev = RowEvaluator(checked, params, period.year, scope if trace else None)

    condition = ev.eval(version.condition.root)
    amount_trace = None
    outputs_trace = {}
    notes: list[str] = []
    amount: Decimal | None = None
    outputs: dict[str, Decimal | None] = {o.name: None for o in version.outputs}
    missing: frozenset[str] = frozenset()

    quiet = RowEvaluator(checked, params, period.year)  # amounts: evaluated, not listed as conditions
    if _is_unknown(condition):
        status = Status.MISSING if condition.missing else Status.UNDEFINED
        missing = condition.missing
        notes.extend(condition.reasons)
    elif condition is False:
        status = Status.NOT_ELIGIBLE
        if version.amount is not None:
            amount = Decimal("0.00")
        outputs = {o.name: Decimal("0.00") for o in version.outputs}
    else:
        raw_amount = quiet.eval(version.amount.root) if version.amount is not None else None
        raw_cap = quiet.eval(version.cap.root) if version.cap is not None else None
        final = _final_amount(raw_amount, raw_cap) if version.amount is not None else None
        raw_outputs = {o.name: quiet.eval(o.expression.root) for o in version.outputs}
        finals = {name: _final_amount(v) for name, v in raw_outputs.items()}
        unknowns = [v for v in [final, *finals.values()] if _is_unknown(v)]
        if unknowns:
            merged = _merge(*unknowns)
            status = Status.MISSING if merged.missing else Status.UNDEFINED
            missing = merged.missing
            notes.extend(merged.reasons)
        else:
            status = Status.ELIGIBLE
            amount = fen_to_decimal(final) if final is not None else None
            outputs = {name: fen_to_decimal(v) for name, v in finals.items()}
        if version.amount is not None and trace:
            capped = (
                not _is_unknown(raw_amount)
                and raw_cap is not None
                and not _is_unknown(raw_cap)
                and raw_cap < raw_amount
            )
            amount_trace = {
                "formula": version.amount.source.strip(),
                "text": describe(version.amount.root, scope),
                "value": None if _is_unknown(raw_amount) else display_value(raw_amount),
                "cap_formula": version.cap.source.strip() if version.cap is not None else None,
                "cap": None if raw_cap is None or _is_unknown(raw_cap) else display_value(raw_cap),
                "capped": capped,
                "result": None if amount is None else str(amount),
            }
        for o in version.outputs if trace else ():
            v = raw_outputs[o.name]
            outputs_trace[o.name] = {
                "label": o.label,
                "formula": o.expression.source.strip(),
                "value": None if _is_unknown(v) else display_value(v),
                "result": None if outputs[o.name] is None else str(outputs[o.name]),
            }

    if not trace:
        return ClauseResult(clause.id, status, amount, outputs, _ordered(missing, library.catalogue), {})
    policy = library.policies.get(clause.policy_id)
    fact_trace = {}
    for name in _ordered(version.facts, library.catalogue):
        fact = library.catalogue[name]
        value = checked.get(name)
        fact_trace[name] = {"label": fact.label, "unit": fact.unit, "value": display_value(value)}
    trace = {
        "clause": {
            "id": clause.id,
            "title": clause.title,
            "policy": clause.policy_id,
            "policy_title": policy.title if policy else "",
            "entity": clause.entity.value,
            "track": clause.track.value,
            "track_label": TRACK_LABELS[clause.track],
            "benefit": clause.benefit,
        },
        "version": {
            "from": version.effective_from.isoformat(),
            "to": version.effective_to.isoformat() if version.effective_to else None,
            "source": version.source.as_dict(),
            "condition": version.condition.source.strip(),
        },
        "rule_version": {
            "clause": clause.id,
            "version_from": version.effective_from.isoformat(),
            "library": library.digest,
        },
        "period": period.year,
        "applied_on": applied_on.isoformat(),
        "result": None if _is_unknown(condition) else bool(condition),
        "conditions": ev.conditions,
        "facts": fact_trace,
        "parameters": [resolved[name].as_trace() for name in sorted(resolved)],
        "amount": amount_trace,
        "outputs": outputs_trace,
        "notes": notes,
    }
    if version.note:
        trace["notes"] = [*notes, version.note]
    return ClauseResult(
        clause_id=clause.id,
        status=status,
        amount=amount,
        outputs=outputs,
        missing=_ordered(missing, library.catalogue),
        trace=trace,
    )


def evaluate_policy(library: Library, policy_id: str, facts: dict, *, period, applied_on) -> list[ClauseResult]:
    """Every clause of a policy in force on ``applied_on``, for one entity (facts of other entities ignored)."""
    applied_on = as_date(applied_on)
    results = []
    for clause, version in library.clauses_in_force(applied_on):
        if clause.policy_id != policy_id:
            continue
        relevant = {k: v for k, v in facts.items() if k not in library.catalogue or k in version.facts}
        results.append(evaluate_version(library, clause, version, relevant, period=period, applied_on=applied_on))
    return results
