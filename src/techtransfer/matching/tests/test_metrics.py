"""Evaluation metrics on a hand-computed example, and the run/qrels file formats."""

from math import log2

import pytest

from techtransfer.matching.metrics import evaluate_run, load_qrels, read_run, write_run

QRELS = {
    "q1": {"d1": 2, "d2": 1, "d3": 0},
    "q2": {"d4": 1},
    "q3": {"d9": 0},  # no relevant document: not averaged
}
RUN = {
    "q1": [("d3", 9.0), ("d1", 8.0), ("d5", 7.0), ("d2", 6.0)],
    "q2": [("d5", 1.0)] + [(f"x{i}", 0.5) for i in range(10)] + [("d4", 0.1)],  # d4 at rank 12
    "q3": [("d9", 1.0)],
}


def test_metrics_hand_computed():
    m = evaluate_run(RUN, QRELS)
    assert m["queries"] == 2
    assert m["recall@1"] == 0.0
    assert m["recall@10"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["recall@100"] == pytest.approx((1.0 + 1.0) / 2)
    assert m["mrr@10"] == pytest.approx((1 / 2 + 0) / 2)
    # q1: gains 2^g-1 at ranks 1..4 are 0, 3, 0, 1; ideal order 3, 1
    dcg = 3 / log2(3) + 1 / log2(5)
    idcg = 3 / log2(2) + 1 / log2(3)
    assert m["ndcg@10"] == pytest.approx((dcg / idcg + 0.0) / 2)
    assert m["ndcg@10"] == pytest.approx(0.3199546, abs=1e-6)


def test_a_query_missing_from_the_run_scores_zero():
    m = evaluate_run({"q1": RUN["q1"]}, QRELS)
    assert m["queries"] == 2 and m["recall@100"] == pytest.approx(0.5)


def test_run_file_format(tmp_path):
    path = tmp_path / "run.tsv"
    write_run(path, {"q1": [("d3", 9.0), ("d1", 8.25)], "q2": [("d5", 0.1234567)]})
    assert path.read_text("utf-8") == "q1\td3\t1\t9.000000\nq1\td1\t2\t8.250000\nq2\td5\t1\t0.123457\n"
    assert read_run(path) == {"q1": [("d3", 9.0), ("d1", 8.25)], "q2": [("d5", 0.123457)]}


def test_qrels_with_header_and_grades(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td4\t1\n", "utf-8")
    assert load_qrels(path) == {"q1": {"d1": 2, "d2": 0}, "q2": {"d4": 1}}
