"""The fusion rule: the weight by query length, then the spread test that decides, query by query, how much to
trust exact terms (``fusion.py``; figures in docs/benchmarks.md)."""

import dataclasses

import numpy as np
import pytest

from techtransfer.matching import Document, Index
from techtransfer.matching.fusion import DEFAULT_RULE, FusionRule


def ramp(best: float, tenth: float, n: int = 20) -> np.ndarray:
    """A rescaled score vector whose best is ``best`` and 10th best ``tenth`` (then falling to 0)."""
    head = np.linspace(best, tenth, 10)
    return np.concatenate((head, np.linspace(tenth * 0.9, 0.0, n - 10))).astype(np.float32)


def test_weight_by_length_is_unchanged():
    rule = FusionRule()
    assert [rule.lexical_weight(n) for n in (1, 6, 18, 30, 80)] == pytest.approx([0.6, 0.6, 0.55, 0.5, 0.5])


def test_flat_lexical_top_ten_moves_trust_to_meaning():
    # lexical: best 1.0, 10th 0.9 (no document stands out); semantic: best 1.0, 10th 0.5
    w = DEFAULT_RULE.spread_weight(0.6, ramp(1.0, 0.9), ramp(1.0, 0.5), n_query_words=4)
    assert w == pytest.approx(0.6 * 0.1 / (0.6 * 0.1 + 0.4 * 0.5))  # 0.2308


def test_flat_semantic_top_ten_moves_trust_to_exact_terms():
    w = DEFAULT_RULE.spread_weight(0.6, ramp(1.0, 0.2), ramp(1.0, 0.95), n_query_words=4)
    assert w == pytest.approx(0.6 * 0.8 / (0.6 * 0.8 + 0.4 * 0.05))  # 0.96


def test_equal_spreads_keep_the_length_weight():
    assert DEFAULT_RULE.spread_weight(0.6, ramp(1.0, 0.4), ramp(1.0, 0.4), n_query_words=4) == pytest.approx(0.6)


def test_long_queries_both_flat_and_switched_off_keep_the_length_weight():
    flat, peaked = ramp(1.0, 0.9), ramp(1.0, 0.5)
    assert DEFAULT_RULE.spread_weight(0.55, flat, peaked, n_query_words=13) == 0.55  # a demand, not keywords
    assert DEFAULT_RULE.spread_weight(0.6, flat, peaked, n_query_words=12) != 0.6
    assert DEFAULT_RULE.spread_weight(0.6, np.ones(20), np.ones(20), n_query_words=4) == 0.6  # nothing to compare
    fixed = dataclasses.replace(DEFAULT_RULE, spread_rank=0)  # ``eval retrieval --lexical-weight``
    assert fixed.spread_weight(0.6, flat, peaked, n_query_words=4) == 0.6


def test_fewer_documents_than_the_spread_rank_use_best_minus_worst():
    w = DEFAULT_RULE.spread_weight(0.6, np.array([1.0, 0.5, 0.25]), np.array([1.0, 0.0, 0.0]), n_query_words=2)
    assert w == pytest.approx(0.6 * 0.75 / (0.6 * 0.75 + 0.4 * 1.0))


def test_combine_returns_the_fused_scores_and_the_weight():
    lexical = np.array([4.0, 2.0, 0.0], dtype=np.float32)  # raw: divided by the best (4)
    cosine = np.array([0.5, 0.9, 0.7], dtype=np.float32)  # 3 documents: floor is the worst (0.5)
    fused, w = DEFAULT_RULE.combine(lexical, cosine, n_query_words=3)
    # spreads: lexical 1 − 0 = 1, semantic 1 − 0 = 1 → the length weight 0.6
    assert w == pytest.approx(0.6)
    assert fused.tolist() == pytest.approx([0.6 * 1.0, 0.6 * 0.5 + 0.4 * 1.0, 0.4 * 0.5])
    lex_only, w = DEFAULT_RULE.combine(lexical, None, n_query_words=3)
    assert w == 1.0 and lex_only.tolist() == [1.0, 0.5, 0.0]


def _corpus(n: int = 12):
    """``n`` documents of identical length that all hold 锂电池隔膜 once (so BM25 cannot tell them apart), each
    with its own tag a0, a1, ...; vectors with cosine 1 − 0.05·i to the query vector (1, 0)."""
    docs = [Document(f"d{i}", f"锂电池隔膜 a{i}") for i in range(n)]
    cos = 1.0 - 0.05 * np.arange(n)
    vectors = np.column_stack((cos, np.sqrt(1.0 - cos**2))).astype(np.float32)
    return Index.build(docs, vectors=vectors), np.array([1.0, 0.0], dtype=np.float32)


def test_index_trusts_meaning_when_no_document_stands_out_lexically():
    index, qv = _corpus()
    hits = index.search("锂电池隔膜", k=3, query_vector=qv)
    assert [h.doc_id for h in hits] == ["d0", "d1", "d2"]  # the cosine order
    assert {h.explanation.lexical_weight for h in hits} == {0.0}  # every document matched it equally
    assert [h.score for h in hits] == pytest.approx([1.0, 10 / 11, 9 / 11])  # the rescaled cosine alone
    assert hits[0].explanation.shared_terms == ["锂电池", "隔膜"]


def test_index_trusts_exact_terms_when_one_document_holds_them():
    index, qv = _corpus()
    hits = index.search("a7", k=2, query_vector=qv)  # only d7 has the tag; its cosine is low
    # lexical spread 1 (d7 alone); semantic: rescaled cosines (11 − i)/11, 10th best 2/11 → spread 9/11
    w = 0.6 / (0.6 + 0.4 * 9 / 11)
    assert hits[0].explanation.lexical_weight == pytest.approx(w)  # 0.647, more than the length rule's 0.6
    assert [h.doc_id for h in hits] == ["d7", "d0"]
    assert hits[0].score == pytest.approx(w + (1 - w) * 4 / 11)
    assert hits[1].score == pytest.approx(1 - w)


def test_saved_index_keeps_the_rule(tmp_path):
    index, qv = _corpus()
    loaded = Index.load(index.save(tmp_path / "ix"))
    assert loaded.rule == DEFAULT_RULE and loaded.rule.spread_rank == 10 and loaded.rule.spread_max_words == 12
    assert loaded.search("a7", k=1, query_vector=qv)[0].score == pytest.approx(
        index.search("a7", k=1, query_vector=qv)[0].score
    )


def test_spread_over_mostly_zero_scores():
    # 100 documents, only 5 above zero: the 10th best is 0, the spread is the best score
    few = np.zeros(100, dtype=np.float32)
    few[[3, 7, 11, 50, 90]] = [1.0, 0.8, 0.6, 0.4, 0.2]
    many = np.zeros(100, dtype=np.float32)
    many[:15] = np.linspace(1.0, 0.3, 15)  # 10th best: 1 − 9·0.05 = 0.55
    w = DEFAULT_RULE.spread_weight(0.6, many, few, n_query_words=3)
    assert w == pytest.approx(0.6 * 0.45 / (0.6 * 0.45 + 0.4 * 1.0))
