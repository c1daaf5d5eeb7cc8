"""The straight-line programs of fastpath.py give the general batch path's results byte for byte."""

import contextlib
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from techtransfer.policy import Status, default_library, fastpath, vector
from techtransfer.policy.bench import OPENFISCA_CLAUSES, generate_facts
from techtransfer.policy.results import as_date
from techtransfer.policy.rowwise import evaluate_version
from techtransfer.policy.vector import Columns, CompiledClause, compile_library, evaluate_batch

from . import helpers
from .test_threads import same_bytes
from .test_vector import RANDOM_RULE_SETTINGS, SMALL, random_rules, records, small_clause

LIB = default_library()
APPLIED_ON = "2025-03-01"
COMPILED = compile_library(LIB, APPLIED_ON)
# Every shipped clause but the income split (coalesce, and amounts that divide) runs as a program.
GENERAL_ONLY = {"huaibei.transfer_income_split"}


@contextlib.contextmanager
def general_path():
    saved = fastpath.ENABLED
    fastpath.ENABLED = False
    try:
        yield
    finally:
        fastpath.ENABLED = saved


def both_paths(columns, compiled, **kw):
    """(fast, general) results of every clause in ``compiled``."""
    fast = evaluate_batch(LIB, columns, period=2024, applied_on=APPLIED_ON, compiled=compiled, **kw)
    with general_path():
        general = evaluate_batch(LIB, columns, period=2024, applied_on=APPLIED_ON, compiled=compiled, **kw)
    return fast, general


def uses_program(compiled, columns) -> bool:
    return compiled._plan(columns, 2024, APPLIED_ON).program is not None


@pytest.fixture
def threads_for_programs(monkeypatch):
    """Programs on several threads even for small batches (normally only from PROGRAM_THREAD_ROWS rows)."""
    monkeypatch.setattr(vector, "PROGRAM_THREAD_ROWS", 0)


@pytest.mark.parametrize("missing", [0.03, 0.0, 0.5])
def test_generated_facts_give_the_same_bytes_on_every_thread_count_and_chunk_size(missing, threads_for_programs):
    n = 6_001
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(n, seed=3, missing=missing))
    assert {c.clause.id for c in COMPILED if not uses_program(c, cols)} == GENERAL_ONLY
    with general_path():
        reference = evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, compiled=COMPILED)
    for threads, chunk_rows in ((1, None), (2, None), (3, 1_000), (2, 7)):
        fast, general = both_paths(cols, COMPILED, threads=threads, chunk_rows=chunk_rows)
        for cid in fast:
            assert same_bytes(fast[cid], general[cid]), (cid, threads, chunk_rows)
            assert np.array_equal(fast[cid].status, reference[cid].status), (cid, threads, chunk_rows)
    for c in COMPILED:  # and both agree with the row-wise path
        for i in range(0, n, 509):
            facts = {k: v for k, v in cols.row(i).items() if k in c.version.facts}
            row = evaluate_version(LIB, c.clause, c.version, facts, period=2024, applied_on=APPLIED_ON)
            assert fast[c.clause.id].result(i) == (row.status, row.amount, row.outputs), (c.clause.id, i)


def test_the_compared_clauses_run_as_programs_at_benchmark_scale_and_need_no_exact_stage(threads_for_programs):
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(60_000, seed=11))
    compiled = [c for c in COMPILED if c.clause.id in OPENFISCA_CLAUSES]
    assert all(uses_program(c, cols) for c in compiled)
    fast, general = both_paths(cols, compiled, threads=2)
    for cid in OPENFISCA_CLAUSES:
        assert same_bytes(fast[cid], general[cid]), cid
        assert fast[cid].exact_rows == 0
        counts = fast[cid].counts()
        assert counts["eligible"] > 0 and counts["missing"] > 0 and counts["not_eligible"] > 0, (cid, counts)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(LIB.catalogue, 20))
def test_random_facts_give_the_same_bytes_for_every_shipped_clause(rows):
    vector.PROGRAM_THREAD_ROWS, saved = 0, vector.PROGRAM_THREAD_ROWS  # (hypothesis: no function fixtures)
    try:
        _random_facts(rows)
    finally:
        vector.PROGRAM_THREAD_ROWS = saved


def _random_facts(rows):
    cols = Columns.from_records(LIB.catalogue, rows)
    for threads, chunk_rows in ((1, None), (2, 3)):
        fast, general = both_paths(cols, COMPILED, threads=threads, chunk_rows=chunk_rows)
        for cid in fast:
            assert same_bytes(fast[cid], general[cid]), (cid, rows)


@RANDOM_RULE_SETTINGS
@random_rules
def test_random_rules_give_the_same_bytes_on_both_paths_and_agree_with_row_wise(condition, amount, cap, rows):
    clause, version = small_clause(condition, amount, cap)
    cols = Columns.from_records(SMALL.catalogue, rows)
    compiled = CompiledClause(SMALL, clause, version)
    when = dict(period=2024, applied_on="2024-06-01")
    for chunk_rows in (None, 2):
        fast = compiled.evaluate(cols, threads=2, chunk_rows=chunk_rows, **when)
        with general_path():
            general = compiled.evaluate(cols, threads=2, chunk_rows=chunk_rows, **when)
        assert same_bytes(fast, general), (condition, amount, cap, rows)
    for i, facts in enumerate(rows):
        row = evaluate_version(SMALL, clause, version, facts, trace=False, **when)
        assert fast.result(i) == (row.status, row.amount, row.outputs), (condition, amount, cap, facts)


def test_a_quotient_over_zero_is_undefined_and_over_a_missing_divisor_is_missing():
    clause = LIB.clause("huaibei.joint_project_ratio")
    compiled = CompiledClause(LIB, clause, clause.version_on(as_date(APPLIED_ON)))
    rows = [
        {"joint_project_count": 3, "project_count": 0},  # 3 / 0: 无法判定
        {"joint_project_count": None, "project_count": 0},  # and a fact missing: 缺少事实
        {"joint_project_count": 3, "project_count": None},
        {"joint_project_count": 3, "project_count": 4},
        {"joint_project_count": 0, "project_count": 4},
    ]
    cols = Columns.from_records(LIB.catalogue, rows)
    assert uses_program(compiled, cols)
    fast = compiled.evaluate(cols, period=2024, applied_on=APPLIED_ON)
    assert [fast.result(i)[0] for i in range(5)] == [
        Status.UNDEFINED,
        Status.MISSING,
        Status.MISSING,
        Status.ELIGIBLE,
        Status.NOT_ELIGIBLE,
    ]
    with general_path():
        assert same_bytes(compiled.evaluate(cols, period=2024, applied_on=APPLIED_ON), fast)


def test_an_amount_is_capped_and_rounded_half_up_and_zero_where_not_eligible():
    clause = LIB.clause("huaibei.tech_service_subsidy")
    compiled = CompiledClause(LIB, clause, clause.version_on(as_date(APPLIED_ON)))
    rows = [
        {"is_tech_sme": True, "tech_service_spend": Decimal("0.05")},  # 30 %: 0.015, half a fen, rounds up
        {"is_tech_sme": True, "tech_service_spend": Decimal("1000000000")},  # capped at 200,000
        {"is_tech_sme": False, "is_innovation_team": False, "tech_service_spend": Decimal("500")},
        {"is_tech_sme": None, "is_innovation_team": True, "tech_service_spend": Decimal("500")},
        {"is_tech_sme": True, "tech_service_spend": None},
    ]
    cols = Columns.from_records(LIB.catalogue, rows)
    assert uses_program(compiled, cols)
    fast = compiled.evaluate(cols, period=2024, applied_on=APPLIED_ON)
    for i, facts in enumerate(rows):
        row = evaluate_version(LIB, clause, compiled.version, facts, period=2024, applied_on=APPLIED_ON)
        assert fast.result(i) == (row.status, row.amount, row.outputs), facts
    assert fast.status.tolist() == [1, 1, 0, 1, 2]
    assert fast.amount_fen.tolist() == [2, 20_000_000, 0, 15_000, 0]


def test_values_the_lane_cannot_spell_keep_the_general_path():
    # 0.1 + 2⁻⁵⁴ has no short decimal: its exact value is kept aside and stage 2 reads it.
    clause = SMALL.validate_clause(helpers.clause("d >= 0.1"), policy_id="test")
    compiled = CompiledClause(SMALL, clause, clause.versions[0])
    cols = Columns.from_records(SMALL.catalogue, [{"d": Decimal("0.1000000000000000000001")}, {"d": 1}])
    assert compiled._plan(cols, 2024, "2024-06-01").program is None
    result = compiled.evaluate(cols, period=2024, applied_on="2024-06-01")
    assert result.status.tolist() == [1, 1] and result.exact_rows == 1


def test_results_do_not_share_memory_with_the_next_evaluation():
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(2_000, seed=1))
    compiled = [c for c in COMPILED if c.clause.id in OPENFISCA_CLAUSES]
    first = evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, compiled=compiled)
    kept = {cid: (r.status.copy(), None if r.amount_fen is None else r.amount_fen.copy()) for cid, r in first.items()}
    other = Columns.from_arrays(LIB.catalogue, generate_facts(2_000, seed=2))
    evaluate_batch(LIB, other, period=2024, applied_on=APPLIED_ON, compiled=compiled)
    for cid, (status, amount) in kept.items():
        assert np.array_equal(first[cid].status, status)
        assert amount is None or np.array_equal(first[cid].amount_fen, amount)


@pytest.mark.parametrize("d", [10, 100, 1000, 10_000, 100_000, 10**6, 10**8])
def test_dividing_by_a_power_of_ten_floors_exactly_whether_by_multiplying_or_dividing(d):
    rng = np.random.default_rng(d)
    top = 2**51 - 1
    multiples = rng.integers(0, top // d, 20_000) * d
    xs = np.concatenate([multiples, multiples + 1, np.maximum(multiples - 1, 0), rng.integers(0, top, 20_000)])
    xs = np.concatenate([xs, [0, 1, d - 1, d, d + 1, top - top % d, top]]).astype(np.int64)
    q = xs.astype(np.float64)  # whole numbers below 2⁵³: exact
    fastpath._divide_by(d, int(xs.max()))(q)
    assert np.array_equal(np.floor(q).astype(np.int64), xs // d)


@pytest.mark.parametrize(
    "condition, amount",
    [
        ("(b if e else d) >= 1", None),  # sides unknown where the condition is known: exact bit selection
        ("((0.3 if a > 2 else 0.5) if a > 0 else 0.1) * b >= 1", 'b * (0.3 if g == "x" else 0.05)'),  # blends
        ("b / (a if e else 2) >= 1", "(b if e else d) + 1"),
        ("not (a != 3) or (b if f else 0) > 100", "max(b - 1000, 0) if e else 5"),
    ],
)
def test_choices_inside_comparisons_and_amounts_agree_on_both_paths(condition, amount):
    clause = SMALL.validate_clause(helpers.clause(condition, amount=amount), policy_id="test")
    version = clause.versions[0]
    values = {
        "a": [None, 0, 1, 3],
        "b": [None, Decimal("0"), Decimal("0.5"), Decimal("333.33"), Decimal("5000")],
        "d": [None, Decimal("-1.5"), Decimal("3")],
        "e": [None, True, False],
        "f": [None, True, False],
        "g": [None, "x", "y"],
    }
    rng = np.random.default_rng(7)
    rows = [{k: v[rng.integers(len(v))] for k, v in values.items()} for _ in range(300)]
    cols = Columns.from_records(SMALL.catalogue, rows)
    compiled = CompiledClause(SMALL, clause, version)
    assert compiled._plan(cols, 2024, "2024-06-01").program is not None
    when = dict(period=2024, applied_on="2024-06-01")
    fast = compiled.evaluate(cols, threads=2, chunk_rows=64, **when)
    with general_path():
        assert same_bytes(fast, compiled.evaluate(cols, threads=2, chunk_rows=64, **when))
    for i, facts in enumerate(rows):
        row = evaluate_version(SMALL, clause, version, facts, trace=False, **when)
        assert fast.result(i) == (row.status, row.amount, row.outputs), facts


def test_small_batches_of_programs_stay_on_the_calling_thread(monkeypatch):
    calls = []
    monkeypatch.setattr(vector, "_run_tasks", lambda tasks, threads: calls.append(threads) or [t() for t in tasks])
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(1_000, seed=4))
    compiled = [c for c in COMPILED if c.clause.id in OPENFISCA_CLAUSES]
    evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, compiled=compiled, threads=2)
    evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, compiled=COMPILED, threads=2)  # + income split
    monkeypatch.setattr(vector, "PROGRAM_THREAD_ROWS", 1_000)
    evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, compiled=compiled, threads=2)
    assert calls == [1, 2, 2]


@pytest.mark.parametrize("near", [True, False])
def test_money_compared_with_a_threshold_through_float32_keys_only_where_no_row_ties(near):
    # 2 亿元 is 2·10¹⁰ fen: float32 cannot tell 200,000,000.01 from it, so such a column keeps float64
    clause = LIB.clause("tech_sme.precheck")
    compiled = CompiledClause(LIB, clause, clause.version_on(as_date(APPLIED_ON)))
    base = {"staff": 100, "assets": Decimal("1000"), "sme_score": Decimal("70"), "tech_staff_indicator": 3}
    revenues = ["200000000.01", "200000000", "199999999.99"] if near else ["300000000", "1000", "199999000.51"]
    rows = [{**base, "revenue": Decimal(r)} for r in revenues] + [{**base, "revenue": None}]
    cols = Columns.from_records(LIB.catalogue, rows)
    fast = compiled.evaluate(cols, period=2024, applied_on=APPLIED_ON)
    for i, facts in enumerate(rows):
        row = evaluate_version(LIB, clause, compiled.version, facts, period=2024, applied_on=APPLIED_ON)
        assert fast.result(i)[0] == row.status, facts
    expected = [Status.NOT_ELIGIBLE, Status.ELIGIBLE, Status.ELIGIBLE] if near else [0, 1, 1]
    assert fast.status.tolist()[:3] == [int(s) for s in expected]
    units = fastpath._units(cols, "revenue")
    column, _const = fastpath._keys32(cols, "revenue", 20_000_000_000, units, float(20_000_000_000))
    assert column.dtype == (np.float64 if near else np.float32)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
@pytest.mark.parametrize("fact, value", [("a", "3"), ("c", "0.3"), ("d", "-1.5")])
def test_small_whole_numbers_compared_as_int16_agree_with_row_wise_on_missing_rows_too(op, fact, value):
    clause = SMALL.validate_clause(helpers.clause(f"{fact} {op} {value}"), policy_id="test")
    version = clause.versions[0]
    column = {
        "a": [None, -3, 0, 3, 4, 100, None],
        "c": [None, Decimal("0"), Decimal("0.2999"), Decimal("0.3"), Decimal("0.3001"), Decimal("1"), None],
        "d": [None, Decimal("-3"), Decimal("-1.5"), Decimal("-1.49"), Decimal("0"), Decimal("99.99"), None],
    }[fact]
    rows = [{fact: v} for v in column]
    cols = Columns.from_records(SMALL.catalogue, rows)
    compiled = CompiledClause(SMALL, clause, version)
    assert compiled._plan(cols, 2024, "2024-06-01").program is not None
    when = dict(period=2024, applied_on="2024-06-01")
    fast = compiled.evaluate(cols, **when)
    with general_path():
        assert same_bytes(fast, compiled.evaluate(cols, **when))
    for i, facts in enumerate(rows):
        row = evaluate_version(SMALL, clause, version, facts, trace=False, **when)
        assert fast.result(i)[0] == row.status, (op, facts)
    assert fast.status[0] == fast.status[-1] == int(Status.MISSING)
