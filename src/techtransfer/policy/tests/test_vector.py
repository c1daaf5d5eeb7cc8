"""The batch path gives exactly the row-wise results: on random facts, random rules, and every stage."""

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techtransfer.policy import RuleError, Status, default_library, evaluate
from techtransfer.policy.bench import generate_facts
from techtransfer.policy.rowwise import evaluate_version
from techtransfer.policy.vector import Columns, CompiledClause, compile_library, evaluate_batch

from . import helpers

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
APPLIED_ON = "2025-03-01"

# Values chosen to sit on and next to the shipped thresholds, and amounts that end in half a fen.
NUMBERS = {
    "int": ["0", "1", "2", "499", "500", "501", "2023", "2024", "2025", "70", "100"],
    "money": [
        "0",
        "0.01",
        "0.05",
        "0.10",
        "1",
        "333333.33",
        "333333.34",
        "666666.65",
        "1000000",
        "999999.99",
        "50000000",
        "50000000.01",
        "200000000",
        "200000000.01",
        "12345678.91",
    ],
    "ratio": [
        "0",
        "0.03",
        "0.035",
        "0.05",
        "0.0999",
        "0.1",
        "0.5",
        "0.5999",
        "0.6",
        "0.7",
        "0.95",
        "1",
        "0.333333333333333333",
    ],
    "number": ["0", "0.9", "1", "59.99", "60", "3", "-1.5", "100"],
}


def fact_value(fact):
    missing = st.none()
    if fact.type == "bool":
        return st.one_of(missing, st.booleans())
    if fact.type == "enum":
        return st.one_of(missing, st.sampled_from(list(fact.choices)))
    pool = st.sampled_from([Decimal(v) for v in NUMBERS[fact.type.value]])
    if fact.type == "int":
        return st.one_of(missing, pool.map(int), st.integers(0, 3000))
    if fact.type == "money":
        fen = st.integers(0, 10**12).map(lambda f: Decimal(f) / 100)
        return st.one_of(missing, pool, fen)
    if fact.type == "ratio":
        return st.one_of(missing, pool, st.decimals(0, 1, places=4))
    return st.one_of(missing, pool, st.decimals(-100, 100, places=2))


@st.composite
def records(draw, catalogue, size):
    return [{f.name: draw(fact_value(f)) for f in catalogue} for _ in range(size)]


def assert_same(lib, compiled, rows, cols, **kw):
    for c in compiled:
        batch = c.evaluate(cols, period=2024, applied_on=APPLIED_ON, **kw)
        for i, facts in enumerate(rows):
            mine = {k: v for k, v in facts.items() if k in c.version.facts}
            row = evaluate_version(lib, c.clause, c.version, mine, period=2024, applied_on=APPLIED_ON, trace=False)
            assert batch.result(i) == (row.status, row.amount, row.outputs), (c.clause.id, facts)


LIB = default_library()
COMPILED = compile_library(LIB, APPLIED_ON)


@SETTINGS
@given(records(LIB.catalogue, 20))
def test_every_shipped_clause_agrees_on_random_facts(rows):
    cols = Columns.from_records(LIB.catalogue, rows)
    assert_same(LIB, COMPILED, rows, cols)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(LIB.catalogue, 10))
def test_the_exact_stage_alone_agrees_too(rows):
    cols = Columns.from_records(LIB.catalogue, rows)
    assert_same(LIB, COMPILED, rows, cols, force_exact=True)


# ---- random rules ---------------------------------------------------------------------------------------------

NUM_LEAVES = [
    "a",
    "b",
    "c",
    "d",
    "p.r",
    "p.k",
    "period_year",
    "0",
    "1",
    "0.5",
    "0.05",
    "0.3",
    "100",
    "2024",
    "-3",
    "0.333",
]
BOOL_LEAVES = ["e", "f", "True", 'g == "x"', 'g in ["x", "z"]', "g in p.l", 'g != "y"']
CMP = ["<", "<=", ">", ">=", "==", "!="]


@st.composite
def num_expr(draw, depth=0):
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(NUM_LEAVES))
    kind = draw(st.sampled_from(["bin", "bin", "neg", "min", "max", "abs", "fen", "coalesce", "if"]))
    sub = num_expr(depth + 1)
    if kind == "bin":
        return f"({draw(sub)} {draw(st.sampled_from(['+', '-', '*', '/']))} {draw(sub)})"
    if kind == "neg":
        return f"(-{draw(sub)})"
    if kind in ("min", "max", "coalesce"):
        return f"{kind}({draw(sub)}, {draw(sub)})"
    if kind in ("abs", "fen"):
        return f"{kind}({draw(sub)})"
    return f"({draw(sub)} if {draw(bool_expr(depth + 1))} else {draw(sub)})"


@st.composite
def bool_expr(draw, depth=0):
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()):
            return draw(st.sampled_from(BOOL_LEAVES))
        return f"({draw(num_expr(depth + 1))} {draw(st.sampled_from(CMP))} {draw(num_expr(depth + 1))})"
    kind = draw(st.sampled_from(["and", "or", "not", "cmp", "cmp", "if", "coalesce"]))
    sub = bool_expr(depth + 1)
    if kind in ("and", "or"):
        return f"({draw(sub)} {kind} {draw(sub)})"
    if kind == "not":
        return f"(not {draw(sub)})"
    if kind == "if":
        return f"({draw(sub)} if {draw(sub)} else {draw(sub)})"
    if kind == "coalesce":
        return f"coalesce({draw(sub)}, {draw(sub)})"
    return f"({draw(num_expr(depth + 1))} {draw(st.sampled_from(CMP))} {draw(num_expr(depth + 1))})"


SMALL = helpers.library()
SMALL_VALUES = {
    "a": st.one_of(st.none(), st.integers(-3, 3), st.sampled_from([0, 100, 2024])),
    "b": st.one_of(
        st.none(), st.sampled_from([Decimal(x) for x in ["0", "0.01", "0.05", "0.5", "1.5", "100", "333.33"]])
    ),
    "c": st.one_of(st.none(), st.sampled_from([Decimal(x) for x in ["0", "0.05", "0.3", "0.5", "1", "0.333"]])),
    "d": st.one_of(st.none(), st.sampled_from([Decimal(x) for x in ["-1.5", "0", "0.3", "3", "2024", "0.1"]])),
    "e": st.one_of(st.none(), st.booleans()),
    "f": st.one_of(st.none(), st.booleans()),
    "g": st.one_of(st.none(), st.sampled_from(["x", "y", "z"])),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    condition=bool_expr(),
    amount=st.one_of(st.none(), num_expr()),
    cap=st.one_of(st.none(), num_expr()),
    rows=st.lists(st.fixed_dictionaries(SMALL_VALUES), min_size=1, max_size=12),
)
def test_random_rules_agree_between_the_paths(condition, amount, cap, rows):
    data = helpers.clause(condition, amount=amount, cap=cap if amount is not None else None)
    clause = SMALL.validate_clause(data, policy_id="test")
    version = clause.versions[0]
    cols = Columns.from_records(SMALL.catalogue, rows)
    for force in (False, True):
        batch = CompiledClause(SMALL, clause, version).evaluate(
            cols, period=2024, applied_on="2024-06-01", force_exact=force
        )
        for i, facts in enumerate(rows):
            row = evaluate_version(SMALL, clause, version, facts, period=2024, applied_on="2024-06-01", trace=False)
            assert batch.result(i) == (row.status, row.amount, row.outputs), (condition, amount, cap, facts, force)


# ---- the columns themselves ------------------------------------------------------------------------------------


def test_generated_facts_rarely_need_the_exact_stage_and_agree_with_row_wise():
    facts = generate_facts(3000, seed=7)
    cols = Columns.from_arrays(LIB.catalogue, facts)
    results = evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON)
    assert set(results) == set(LIB.clauses)
    for cid in ("tech_sme.precheck", "huaibei.pilot_base_reward", "huaibei.soe_rd_ratio"):
        assert results[cid].exact_rows == 0
    for c in COMPILED:
        for i in range(0, 3000, 97):
            facts_i = {k: v for k, v in cols.row(i).items() if k in c.version.facts}
            row = evaluate_version(LIB, c.clause, c.version, facts_i, period=2024, applied_on=APPLIED_ON)
            assert results[c.clause.id].result(i) == (row.status, row.amount, row.outputs)


def test_a_decimal_beyond_float_precision_is_kept_exact():
    # 0.1 + 10⁻¹⁸ is not a float; the batch path must still compare it exactly (> 0.1)
    rows = [{"tech_staff_ratio": Decimal("0.100000000000000001")}, {"tech_staff_ratio": Decimal("0.1")}]
    cols = Columns.from_records(LIB.catalogue, rows)
    assert cols.row(0)["tech_staff_ratio"] == Decimal("0.100000000000000001")
    lib = helpers.library(helpers.clause("c > 0.1"))
    clause = lib.clause("t.clause")
    cols = Columns.from_records(lib.catalogue, [{"c": Decimal("0.100000000000000001")}, {"c": Decimal("0.1")}])
    batch = CompiledClause(lib, clause, clause.versions[0]).evaluate(cols, period=2024, applied_on="2024-06-01")
    assert [batch.result(i)[0] for i in range(2)] == [Status.ELIGIBLE, Status.NOT_ELIGIBLE]


def test_columns_refuse_bad_values_like_the_row_wise_path():
    with pytest.raises(RuleError) as info:
        Columns.from_records(LIB.catalogue, [{"staff": 1}, {"staff": "12.5"}])
    assert info.value.details == {"1.staff": ["第 2 条：「职工总数」（staff）应为整数，收到「12.5」"]}
    with pytest.raises(RuleError) as info:
        Columns.from_arrays(LIB.catalogue, {"revenue": np.array([1.005, 2.0])})
    assert info.value.message == "「年销售收入」（revenue）应为非负金额，最多两位小数"
    with pytest.raises(RuleError) as info:
        Columns.from_arrays(LIB.catalogue, {"pilot_base_level": np.array(["provincial", "county"], dtype=object)})
    assert info.value.message == "「中试（产业化）基地认定级别」（pilot_base_level）没有取值「county」"


def test_a_clause_not_in_force_on_the_date_is_refused_in_batch_too():
    cols = Columns.from_records(LIB.catalogue, [{"newly_recognized_hte_year": 2024}])
    compiled = CompiledClause(
        LIB, LIB.clause("huaibei.hte_new_reward"), LIB.clause("huaibei.hte_new_reward").versions[0]
    )
    with pytest.raises(RuleError, match="不生效"):
        compiled.evaluate(cols, period=2025, applied_on="2026-01-01")
    assert [c.clause.id for c in compile_library(LIB, "2026-01-01")] == ["hte.precheck", "tech_sme.precheck"]


def test_batch_counts_and_amounts_in_fen():
    rows = [{"instrument_sharing_spend": v} for v in ("100000", "0.05", "0", None, "1000000")]
    cols = Columns.from_records(LIB.catalogue, rows)
    result = evaluate_batch(
        LIB, cols, period=2024, applied_on=APPLIED_ON, clauses=["huaibei.instrument_sharing_subsidy"]
    )
    r = result["huaibei.instrument_sharing_subsidy"]
    assert r.status.tolist() == [1, 1, 0, 2, 1]
    assert r.amount_fen.tolist() == [3000000, 2, 0, 0, 10000000]
    assert r.counts() == {"not_eligible": 1, "eligible": 3, "missing": 1, "undefined": 0}
    assert evaluate(
        LIB, "huaibei.instrument_sharing_subsidy", rows[1], period=2024, applied_on=APPLIED_ON
    ).amount == Decimal("0.02")


def test_division_by_zero_without_any_missing_fact_is_undefined_in_batch():
    # regression: with no missing value in the columns the batch path once reported 缺少事实 instead of 无法判定
    lib = helpers.library(
        helpers.clause("b / a >= 1", cid="t.cond"), helpers.clause("e", amount="b / a", cid="t.amount")
    )
    cols = Columns.from_records(lib.catalogue, [{"a": 0, "b": 5, "e": True}, {"a": 5, "b": 5, "e": True}])
    for cid in ("t.cond", "t.amount"):
        clause = lib.clause(cid)
        batch = CompiledClause(lib, clause, clause.versions[0]).evaluate(cols, period=2024, applied_on="2024-06-01")
        assert [batch.result(i)[0] for i in range(2)] == [Status.UNDEFINED, Status.ELIGIBLE]
