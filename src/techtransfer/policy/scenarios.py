"""YAML scenarios: facts in, expected result out, written so that a policy officer can read and add them.

One file per clause (``scenarios/*.yaml``)::

    clause: tech_sme.precheck        # the clause tested
    period: 2024                     # the year the facts describe
    applied_on: 2025-03-01           # the date of application: the rules in force that day apply
    base:                            # facts shared by every scenario below
      staff: 320
      revenue: 80000000
    scenarios:
      - name: 职工恰为 500 人（“不超过”含本数）
        facts: {staff: 500}          # overrides base; null means the fact is missing
        expect:
          status: 符合               # 符合 / 不符合 / 缺少事实 / 无法判定 (or eligible / not_eligible / …)
          amount: 100000.00          # optional, in 元
          outputs: {inventors: 500000.00}
          missing: [assets]          # the facts reported missing, when status is 缺少事实
      - name: 申请日不在有效期内
        applied_on: 2026-03-01
        expect: {error: not_in_force}

Each scenario is one pytest test, which also checks that the batch path gives the same result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .errors import RuleError, RuleErrorCode
from .library import SCENARIO_DIR, Library, load_yaml
from .results import ClauseResult, Period, Status, as_date
from .rowwise import evaluate

FILE_KEYS = {"clause", "period", "applied_on", "base", "scenarios", "description"}
SCENARIO_KEYS = {"name", "facts", "expect", "period", "applied_on", "clause", "note"}
EXPECT_KEYS = {"status", "amount", "outputs", "missing", "error"}


@dataclass
class Scenario:
    file: str
    clause: str
    name: str
    facts: dict
    period: int
    applied_on: dt.date
    expect: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def _bad(where: str, message: str) -> RuleError:
    return RuleError(RuleErrorCode.BAD_RULE, f"{where}：{message}", {where: [message]})


def load_scenarios(directory: str | Path | None = None) -> list[Scenario]:
    directory = Path(directory) if directory else SCENARIO_DIR
    found = []
    for path in sorted(directory.glob("*.yaml")):
        found.extend(parse_scenarios(path.read_text(encoding="utf-8"), path.name))
    return found


def parse_scenarios(text: str, name: str = "scenarios.yaml") -> list[Scenario]:
    data = load_yaml(text, name)
    if not isinstance(data, dict):
        raise _bad(name, "文件内容应为映射")
    for key in set(data) - FILE_KEYS:
        raise _bad(name, f"未知的项「{key}」")
    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise _bad(name, "base 应为“事实: 取值”的映射")
    items = data.get("scenarios")
    if not isinstance(items, list) or not items:
        raise _bad(name, "须有至少一个场景（scenarios）")
    out = []
    names = set()
    for i, item in enumerate(items):
        where = f"{name} 第 {i + 1} 个场景"
        if not isinstance(item, dict) or not item.get("name"):
            raise _bad(where, "场景须有名称（name）")
        for key in set(item) - SCENARIO_KEYS:
            raise _bad(where, f"未知的项「{key}」")
        if item["name"] in names:
            raise _bad(where, f"场景名称「{item['name']}」重复")
        names.add(item["name"])
        facts = dict(base)
        extra = item.get("facts") or {}
        if not isinstance(extra, dict):
            raise _bad(where, "facts 应为“事实: 取值”的映射")
        facts.update(extra)
        expect = item.get("expect")
        if not isinstance(expect, dict) or not expect:
            raise _bad(where, "须写明预期结果（expect）")
        for key in set(expect) - EXPECT_KEYS:
            raise _bad(where, f"预期结果中有未知的项「{key}」")
        if "status" in expect:
            Status.parse(expect["status"])
        clause = item.get("clause") or data.get("clause")
        if not clause:
            raise _bad(where, "须写明条款（clause）")
        period = item.get("period", data.get("period"))
        applied_on = item.get("applied_on", data.get("applied_on"))
        if period is None or applied_on is None:
            raise _bad(where, "须写明评价期间（period）和申请日期（applied_on）")
        out.append(
            Scenario(
                file=name,
                clause=str(clause),
                name=str(item["name"]),
                facts=facts,
                period=Period.of(period).year,
                applied_on=as_date(applied_on),
                expect=expect,
            )
        )
    return out


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def run_scenario(library: Library, scenario: Scenario) -> tuple[ClauseResult | None, list[str]]:
    """Evaluates a scenario row-wise; returns the result and the differences from what it expects (Chinese)."""
    expect = scenario.expect
    try:
        result = evaluate(
            library, scenario.clause, scenario.facts, period=scenario.period, applied_on=scenario.applied_on
        )
    except RuleError as exc:
        if expect.get("error") == str(exc.code):
            return None, []
        return None, [f"出错：{exc.message}（{exc.code}）"]
    problems = []
    if "error" in expect:
        problems.append(f"预期出错（{expect['error']}），实际得到结果「{result.status.label}」")
    if "status" in expect and result.status is not Status.parse(expect["status"]):
        why = f"，缺少：{'、'.join(result.missing)}" if result.missing else ""
        problems.append(f"结果应为「{Status.parse(expect['status']).label}」，实际为「{result.status.label}」{why}")
    if "amount" in expect:
        want = None if expect["amount"] is None else _money(expect["amount"])
        if result.amount != want:
            problems.append(f"金额应为 {want}，实际为 {result.amount}")
    for name, value in (expect.get("outputs") or {}).items():
        want = None if value is None else _money(value)
        if name not in result.outputs:
            problems.append(f"没有分项金额「{name}」")
        elif result.outputs[name] != want:
            problems.append(f"分项「{name}」应为 {want}，实际为 {result.outputs[name]}")
    if "missing" in expect and sorted(expect["missing"] or []) != sorted(result.missing):
        problems.append(f"缺少的事实应为 {sorted(expect['missing'] or [])}，实际为 {sorted(result.missing)}")
    return result, problems
