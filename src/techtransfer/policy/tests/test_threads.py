"""Row chunks on several threads give byte-identical results to one thread, and the row-wise path's."""

from collections import defaultdict

import numpy as np
import pytest

from techtransfer.policy import default_library
from techtransfer.policy.bench import generate_facts
from techtransfer.policy.rowwise import evaluate_version
from techtransfer.policy.scenarios import load_scenarios, run_scenario
from techtransfer.policy.vector import (
    BatchResult,
    Columns,
    CompiledClause,
    chunk_bounds,
    compile_library,
    default_threads,
    evaluate_batch,
)

from .test_vector import compacting_everything

LIB = default_library()
APPLIED_ON = "2025-03-01"


def same_bytes(a: BatchResult, b: BatchResult) -> bool:
    return (
        a.status.dtype == b.status.dtype
        and a.status.tobytes() == b.status.tobytes()
        and (a.amount_fen is None) == (b.amount_fen is None)
        and (
            a.amount_fen is None
            or (a.amount_fen.dtype, a.amount_fen.tobytes()) == (b.amount_fen.dtype, b.amount_fen.tobytes())
        )
        and list(a.outputs_fen) == list(b.outputs_fen)
        and all(a.outputs_fen[k].tobytes() == b.outputs_fen[k].tobytes() for k in a.outputs_fen)
        and a.exact_rows == b.exact_rows
    )


def test_chunk_bounds_cover_the_rows_in_order_whatever_the_thread_count():
    assert chunk_bounds(100_000) == [(0, 50_000), (50_000, 100_000)]
    assert chunk_bounds(100_001, 25_000) == [
        (0, 20_000),
        (20_000, 40_000),
        (40_000, 60_000),
        (60_000, 80_000),
        (80_000, 100_001),
    ]
    assert chunk_bounds(7, 3) == [(0, 2), (2, 4), (4, 7)]
    assert chunk_bounds(0) == [(0, 0)]
    assert default_threads() >= 1


def test_generated_facts_with_an_odd_row_count_are_byte_identical_on_one_two_and_three_threads():
    n = 20_001  # odd, and 5 chunks of 4,000 or so (below the sizes where rows are compacted within a chunk)
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(n, seed=5))
    compiled = compile_library(LIB, APPLIED_ON)
    kw = dict(period=2024, applied_on=APPLIED_ON, compiled=compiled, chunk_rows=4_500)
    one = evaluate_batch(LIB, cols, threads=1, **kw)
    for threads in (2, 3):
        many = evaluate_batch(LIB, cols, threads=threads, **kw)
        assert list(many) == list(one)
        for cid in one:
            assert same_bytes(many[cid], one[cid]), (cid, threads)
    # And chunked equals unchunked (stage 2 may see other rows, the results may not differ) and row-wise.
    whole = evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, compiled=compiled, chunk_rows=n)
    for c in compiled:
        r, w = one[c.clause.id], whole[c.clause.id]
        assert np.array_equal(r.status, w.status), c.clause.id
        assert (r.amount_fen is None and w.amount_fen is None) or np.array_equal(r.amount_fen, w.amount_fen)
        for name in w.outputs_fen:
            assert np.array_equal(r.outputs_fen[name], w.outputs_fen[name])
        for i in (0, 4_499, 4_500, 4_501, 9_000, n - 1):  # chunk edges
            facts = {k: v for k, v in cols.row(i).items() if k in c.version.facts}
            row = evaluate_version(LIB, c.clause, c.version, facts, period=2024, applied_on=APPLIED_ON)
            assert r.result(i) == (row.status, row.amount, row.outputs), (c.clause.id, i)


def test_rows_compacted_within_later_chunks_are_the_same_rows_as_unchunked():
    # Compaction inside a chunk gathers rows of the chunk's slice: they must be offset by the chunk's start.
    n = 3_001
    cols = Columns.from_arrays(LIB.catalogue, generate_facts(n, seed=7))
    compiled = compile_library(LIB, APPLIED_ON)
    kw = dict(period=2024, applied_on=APPLIED_ON, compiled=compiled)
    whole = evaluate_batch(LIB, cols, chunk_rows=n, **kw)
    with compacting_everything():
        for threads in (1, 2):
            chunked = evaluate_batch(LIB, cols, chunk_rows=700, threads=threads, **kw)
            for cid, w in whole.items():
                r = chunked[cid]
                assert np.array_equal(r.status, w.status), (cid, threads)
                assert (r.amount_fen is None and w.amount_fen is None) or np.array_equal(r.amount_fen, w.amount_fen)
                assert list(r.outputs_fen) == list(w.outputs_fen)
                for name in w.outputs_fen:
                    assert np.array_equal(r.outputs_fen[name], w.outputs_fen[name]), (cid, name, threads)


def _scenario_groups():
    groups = defaultdict(list)
    for scenario in load_scenarios():
        groups[(scenario.clause, str(scenario.applied_on), scenario.period)].append(scenario)
    return sorted(groups.items())


@pytest.mark.parametrize("group", _scenario_groups(), ids=lambda g: f"{g[0][0]}@{g[0][1]}")
def test_every_shipped_scenario_is_the_same_on_every_thread_count_and_chunk_size(group):
    (clause_id, applied_on, period), scenarios = group
    expected = []
    for scenario in scenarios:
        result, problems = run_scenario(LIB, scenario)
        assert problems == []
        if result is not None:
            expected.append((scenario, result))
    if not expected:
        pytest.skip("only scenarios that expect an error")
    clause = LIB.clause(clause_id)
    version = clause.version_on(expected[0][0].applied_on)
    cols = Columns.from_records(LIB.catalogue, [s.facts for s, _ in expected])
    compiled = CompiledClause(LIB, clause, version)
    when = dict(period=expected[0][0].period, applied_on=expected[0][0].applied_on)
    for chunk_rows in (1, 2, 3):  # every row alone, pairs, threes: chunks of every size the rows allow
        one = compiled.evaluate(cols, threads=1, chunk_rows=chunk_rows, **when)
        for i, (_scenario, result) in enumerate(expected):
            assert one.result(i) == (result.status, result.amount, result.outputs), (clause_id, i, chunk_rows)
        for threads in (2, 4):
            assert same_bytes(compiled.evaluate(cols, threads=threads, chunk_rows=chunk_rows, **when), one)
        forced = compiled.evaluate(cols, threads=2, chunk_rows=chunk_rows, force_exact=True, **when)
        assert forced.exact_rows == len(expected)
        for i, (_scenario, result) in enumerate(expected):
            assert forced.result(i) == (result.status, result.amount, result.outputs), (clause_id, i, chunk_rows)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_a_thread_count_that_is_not_a_positive_integer_is_refused_in_chinese(threads):
    cols = Columns.from_records(LIB.catalogue, [{}])
    with pytest.raises(ValueError, match="线程数须为正整数"):
        evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, threads=threads)


@pytest.mark.parametrize("chunk_rows", [0, -5, 2.5])
def test_a_chunk_size_that_is_not_a_positive_integer_is_refused_in_chinese(chunk_rows):
    cols = Columns.from_records(LIB.catalogue, [{}])
    with pytest.raises(ValueError, match="每块行数须为正整数"):
        evaluate_batch(LIB, cols, period=2024, applied_on=APPLIED_ON, chunk_rows=chunk_rows)
