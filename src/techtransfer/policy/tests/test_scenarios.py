"""Every YAML scenario is one test: the row-wise result is what the officer wrote, and the batch path agrees."""

from collections import Counter

import pytest

from techtransfer.policy import RuleError, Status, default_library
from techtransfer.policy.scenarios import load_scenarios, parse_scenarios, run_scenario
from techtransfer.policy.vector import Columns, CompiledClause

LIB = default_library()
SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(scenario):
    result, problems = run_scenario(LIB, scenario)
    assert problems == []
    if result is None:  # a scenario that expects an error
        return
    clause = LIB.clause(scenario.clause)
    version = clause.version_on(scenario.applied_on)
    cols = Columns.from_records(LIB.catalogue, [scenario.facts])
    compiled = CompiledClause(LIB, clause, version)
    for force_exact in (False, True):
        batch = compiled.evaluate(cols, period=scenario.period, applied_on=scenario.applied_on, force_exact=force_exact)
        assert batch.result(0) == (result.status, result.amount, result.outputs)


def test_every_shipped_clause_has_at_least_three_scenarios_with_a_missing_fact_and_a_boundary():
    per_clause = Counter(s.clause for s in SCENARIOS)
    assert set(per_clause) == set(LIB.clauses)
    assert min(per_clause.values()) >= 3
    for clause_id in LIB.clauses:
        mine = [s for s in SCENARIOS if s.clause == clause_id]
        assert any(Status.parse(s.expect.get("status", "符合")) is Status.MISSING for s in mine), clause_id
        assert any(
            "恰" in s.name or "零 1 分" in s.name or "含本数" in s.name or "四舍五入" in s.name for s in mine
        ) or (clause_id in ("huaibei.hte_new_reward", "huaibei.tech_sme_new_reward", "huaibei.pilot_base_reward")), (
            clause_id
        )


def test_a_wrong_expectation_is_reported_in_words():
    scenario = parse_scenarios(
        """
clause: tech_sme.precheck
period: 2024
applied_on: 2025-03-01
scenarios:
  - name: 写错的预期
    facts: {staff: 501, revenue: 1, assets: 1, sme_score: 70, tech_staff_indicator: 3}
    expect: {status: 符合, amount: 5}
""",
        "wrong.yaml",
    )[0]
    _result, problems = run_scenario(LIB, scenario)
    assert problems == ["结果应为「符合」，实际为「不符合」", "金额应为 5.00，实际为 None"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clause: x\nscenarios: []\n", "wrong.yaml：须有至少一个场景（scenarios）"),
        (
            "clause: x\nperiod: 2024\napplied_on: 2025-01-01\nscenarios:\n  - name: a\n",
            "wrong.yaml 第 1 个场景：须写明预期结果（expect）",
        ),
        (
            "clause: x\nperiod: 2024\napplied_on: 2025-01-01\nscenarios:\n  - name: a\n    expect: {status: 也许}\n",
            "结果「也许」无效，可选：不符合（not_eligible）、符合（eligible）、缺少事实（missing）、无法判定（undefined）",
        ),
        ("clause: x\nfoo: 1\nscenarios: [{name: a}]\n", "wrong.yaml：未知的项「foo」"),
        ("clause: [\n", "wrong.yaml 第 2 行不是有效的 YAML"),
    ],
)
def test_malformed_scenario_files_are_refused(text, message):
    with pytest.raises(RuleError) as info:
        parse_scenarios(text, "wrong.yaml")
    assert info.value.message.startswith(message)
