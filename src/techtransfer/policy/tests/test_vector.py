"""The batch path gives exactly the row-wise results: on random facts, random rules, and every stage."""

import contextlib
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techtransfer.policy import RuleError, Status, default_library, evaluate, fastpath, vector
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


# A random rule (condition, optional amount and cap) over random rows of the small catalogue.
random_rules = given(
    condition=bool_expr(),
    amount=st.one_of(st.none(), num_expr()),
    cap=st.one_of(st.none(), num_expr()),
    rows=st.lists(st.fixed_dictionaries(SMALL_VALUES), min_size=1, max_size=12),
)
RANDOM_RULE_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small_clause(condition, amount, cap):
    """(clause, its version) of a rule on the small catalogue; a cap only where there is an amount."""
    data = helpers.clause(condition, amount=amount, cap=cap if amount is not None else None)
    clause = SMALL.validate_clause(data, policy_id="test")
    return clause, clause.versions[0]


@RANDOM_RULE_SETTINGS
@random_rules
def test_random_rules_agree_between_the_paths(condition, amount, cap, rows):
    clause, version = small_clause(condition, amount, cap)
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


# ---- the exact lane and row compaction (the fast paths) ---------------------------------------------------------


@contextlib.contextmanager
def compacting_everything():
    """Row compaction at every ``and`` / ``or`` step and for every amount, whatever the sizes (normally only for
    large batches, which the other tests do not reach). Only the general path compacts rows, so the straight-line
    programs (fastpath.py) are off meanwhile: else most clauses would never reach the compaction under test."""
    names = ("_COMPACT_ROWS", "_COMPACT_SHARE", "_COMPACT_AMOUNT_SHARE", "_COMPACT_COST", "_COMPACT_AMOUNT_COST")
    saved = [getattr(vector, name) for name in names]
    saved_fast = fastpath.ENABLED
    for name, value in zip(names, (0, 1.0, 1.0, 0, 0), strict=True):
        setattr(vector, name, value)
    fastpath.ENABLED = False
    try:
        yield
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(vector, name, value)
        fastpath.ENABLED = saved_fast


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    condition=bool_expr(),
    amount=st.one_of(st.none(), num_expr()),
    rows=st.lists(st.fixed_dictionaries(SMALL_VALUES), min_size=1, max_size=12),
)
def test_random_rules_agree_with_row_compaction_forced(condition, amount, rows):
    data = helpers.clause(condition, amount=amount)
    clause = SMALL.validate_clause(data, policy_id="test")
    version = clause.versions[0]
    cols = Columns.from_records(SMALL.catalogue, rows)
    with compacting_everything():
        batch = CompiledClause(SMALL, clause, version).evaluate(cols, period=2024, applied_on="2024-06-01")
    for i, facts in enumerate(rows):
        row = evaluate_version(SMALL, clause, version, facts, period=2024, applied_on="2024-06-01", trace=False)
        assert batch.result(i) == (row.status, row.amount, row.outputs), (condition, amount, facts)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(LIB.catalogue, 20))
def test_every_shipped_clause_agrees_with_row_compaction_forced(rows):
    cols = Columns.from_records(LIB.catalogue, rows)
    with compacting_everything():
        assert_same(LIB, COMPILED, rows, cols)


def test_generated_facts_at_scale_compact_rows_and_still_agree_with_row_wise():
    n = 20_000  # above the sizes where and / or and amounts compact their rows
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(n, seed=11))
    results = evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON)
    for cid in ("tech_sme.precheck", "hte.precheck", "huaibei.tech_service_subsidy"):
        assert results[cid].exact_rows == 0  # decimals computed exactly: no row left for stage 2
    split = results["huaibei.transfer_income_split"].counts()
    assert 0 < split["eligible"] < n * vector._COMPACT_AMOUNT_SHARE  # so its amounts were computed on a subset
    costs = {c.clause.id: c.amount_cost for c in COMPILED}
    assert costs["huaibei.transfer_income_split"] >= vector._COMPACT_AMOUNT_COST  # (it was: a costly formula)
    assert costs["huaibei.tech_service_subsidy"] < vector._COMPACT_AMOUNT_COST  # cheap: computed on every row
    for c in COMPILED:
        for i in range(0, n, 131):
            facts_i = {k: v for k, v in cols.row(i).items() if k in c.version.facts}
            row = evaluate_version(LIB, c.clause, c.version, facts_i, period=2024, applied_on=APPLIED_ON)
            assert results[c.clause.id].result(i) == (row.status, row.amount, row.outputs), (c.clause.id, i)


def test_decimal_lane_spells_columns_as_scaled_whole_numbers():
    units, scale, lo, hi, unk, bad = vector.decimal_lane(np.array([1.5, 2.25, np.nan, 0.0]))
    assert (scale, lo, hi) == (2, 0, 225) and units.dtype == np.float32
    assert units[[0, 1, 3]].tolist() == [150.0, 225.0, 0.0] and 0 <= units[2] <= 225  # missing: a stand-in
    assert unk.tolist() == [False, False, True, False] and bad is None
    units, scale, lo, hi, unk, bad = vector.decimal_lane(np.array([123456789.01, 3.0]))
    assert units.dtype == np.float64 and (scale, hi) == (2, 12345678901)  # 2²⁴ or more: float64
    assert unk is None and bad is None
    # more than 12 decimals, or a value kept exactly beside its float: left to stage 2
    units, scale, lo, hi, unk, bad = vector.decimal_lane(np.array([0.5, 0.1234567890123, 0.25]), overrides={2: 0})
    assert scale == 2 and bad.tolist() == [False, True, True]


EDGE_ROWS = [
    {"a": 3, "b": Decimal("999999999999.99"), "c": Decimal("0.3"), "d": Decimal("-1.5"), "e": True},
    {"a": -2, "b": Decimal("0.01"), "c": Decimal("0.333333333333333333"), "d": Decimal("0"), "e": False},
    {"a": 0, "b": Decimal("0.05"), "c": Decimal("0.1234567890123"), "d": Decimal("2024"), "e": True},
    {"a": 2024, "b": Decimal("333333.33"), "c": Decimal("0.5"), "d": Decimal("0.3"), "e": None},
    {"a": None, "b": None, "c": Decimal("0"), "d": None, "e": True},
    {"a": 1, "b": Decimal("12345678.91"), "c": Decimal("1"), "d": Decimal("3"), "e": False},
]


@pytest.mark.parametrize(
    ("condition", "amount", "cap"),
    [
        ("e", "b * 0.5", None),  # half a fen: exact in the lane, no stage 2
        ("e or a > 0", "b * c", "p.k"),  # money × ratio beyond 2²⁴ units, with a cap
        ("True", "b * b", None),  # would pass 2⁵³: the interval path computes it
        ("b / d >= c", "fen(d * 0.333)", None),  # negative and zero divisors, negative rounding
        ("c / b < d", None, None),
        ("(b if e else 2000000000) >= d * 1000000", "(a if e else 3) * b", None),  # choices, wide and narrow
        ("b >= 0 and a < 100000 and a != 7", "max(b - 1000, a)", "min(b, 5)"),  # decided by the bounds
        ("abs(d - a) <= 2022 or -d > 1", "abs(d) + a * 0.01", None),
        ("a * a * a + 1 > a * a * a", "a * a * a * 0.01 + 0.01", None),  # beyond float32's whole numbers
    ],
)
def test_exact_lane_edges_agree_with_row_wise(condition, amount, cap):
    clause = SMALL.validate_clause(helpers.clause(condition, amount=amount, cap=cap), policy_id="test")
    version = clause.versions[0]
    cols = Columns.from_records(SMALL.catalogue, EDGE_ROWS)
    for compact in (False, True):
        with compacting_everything() if compact else contextlib.nullcontext():
            batch = CompiledClause(SMALL, clause, version).evaluate(cols, period=2024, applied_on="2024-06-01")
        for i, facts in enumerate(EDGE_ROWS):
            row = evaluate_version(SMALL, clause, version, facts, period=2024, applied_on="2024-06-01", trace=False)
            assert batch.result(i) == (row.status, row.amount, row.outputs), (condition, amount, cap, facts)


def test_half_a_fen_is_rounded_up_without_the_exact_stage():
    clause = SMALL.validate_clause(helpers.clause("e", amount="b * 0.5"), policy_id="test")
    rows = [{"b": Decimal(v), "e": True} for v in ("0.01", "0.03", "100.05", "0")]
    batch = CompiledClause(SMALL, clause, clause.versions[0]).evaluate(
        Columns.from_records(SMALL.catalogue, rows), period=2024, applied_on="2024-06-01"
    )
    assert batch.amount_fen.tolist() == [1, 2, 5003, 0]  # 0.005 → 0.01, 0.015 → 0.02, 50.025 → 50.03
    assert batch.exact_rows == 0
