"""IVF semantic index (coarse k-means lists) and the common-term skip of the lexical side."""

import numpy as np
import pytest

from techtransfer.matching import Document, Index
from techtransfer.matching import index as index_module
from techtransfer.matching.ivf import IVFIndex

WORDS = ["锂电池", "隔膜", "光伏", "组件", "污水", "处理", "陶瓷", "催化剂", "芯片", "封装", "机器人", "传感器"]


def clustered_vectors(n: int, dim: int = 32, centres: int = 8, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, dim))
    vecs = middle[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim))
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def synthetic_documents(n: int, seed: int = 2) -> list[Document]:
    rng = np.random.default_rng(seed)
    return [
        Document(f"d{i}", "，".join(WORDS[j] for j in rng.choice(len(WORDS), 3, replace=False)) + "。")
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def corpus():
    docs = synthetic_documents(600)
    vectors = clustered_vectors(600)
    exact = Index.build(docs, vectors=vectors)
    probed = Index.build(docs, vectors=vectors, ivf_min_docs=600)
    return docs, vectors, exact, probed


def assert_same_ranking(got, want):
    """Same scores in the same order, and the same documents wherever the score is not tied with the last one
    (which of several documents tied at the cut is kept is arbitrary, in the exact scan too)."""
    assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-6)
    cut = want[-1].score + 1e-6
    assert [h.doc_id for h in got if h.score > cut] == [h.doc_id for h in want if h.score > cut]
    assert len([h for h in want if h.score > cut]) >= 5  # the comparison is not empty
    untied = [(h.doc_id, h.explanation.semantic) for h in want if h.score > cut]
    assert [(h.doc_id, pytest.approx(h.explanation.semantic)) for h in got if h.score > cut] == untied


def test_threshold_switch(corpus):
    docs, vectors, exact, probed = corpus
    assert exact.ivf is None  # 600 documents < IVF_MIN_DOCS: exact scan
    assert probed.ivf is not None and probed.ivf.n_lists == 24  # round(√600)
    assert Index.build(docs, vectors=vectors, ivf_min_docs=601).ivf is None
    missing = vectors.copy()
    missing[:10] = 0.0  # ten vectors not computed yet: 590 documents with vectors
    assert Index.build(docs, vectors=missing, ivf_min_docs=591).ivf is None
    partial = Index.build(docs, vectors=missing, ivf_min_docs=590).ivf
    assert partial is not None and sorted(partial.rows.tolist()) == list(range(10, 600))
    assert Index.build(docs).ivf is None  # lexical only


def test_lists_hold_each_vector_once_grouped_by_nearest_centroid(corpus):
    _docs, vectors, _exact, probed = corpus
    ivf = probed.ivf
    assert sorted(ivf.rows.tolist()) == list(range(600))
    assert ivf.offsets[0] == 0 and ivf.offsets[-1] == 600 and np.all(np.diff(ivf.offsets) >= 0)
    assert ivf.vectors.dtype == np.float32 and np.array_equal(ivf.vectors, vectors[ivf.rows])
    np.testing.assert_allclose(np.linalg.norm(ivf.centroids, axis=1), 1.0, atol=1e-5)
    nearest = np.argmax(vectors @ ivf.centroids.T, axis=1)
    lists = np.repeat(np.arange(ivf.n_lists), np.diff(ivf.offsets))
    assert (nearest[ivf.rows] == lists).all()


def test_probing_every_list_equals_the_exact_scan(corpus):
    docs, vectors, exact, probed = corpus
    ivf = probed.ivf
    rows, cos = ivf.candidates(vectors[7], n_probe=ivf.n_lists)
    assert sorted(rows.tolist()) == list(range(600))
    np.testing.assert_allclose(cos, vectors[rows] @ vectors[7], rtol=1e-5, atol=1e-6)
    default_probe = ivf.n_probe
    ivf.n_probe = ivf.n_lists
    try:
        for query, row in (("锂电池隔膜", 3), ("光伏组件的封装", 40), ("机器人", 333)):
            want = exact.search(query, k=20, query_vector=vectors[row])
            assert_same_ranking(probed.search(query, k=20, query_vector=vectors[row]), want)
    finally:
        ivf.n_probe = default_probe


def test_default_probe_finds_the_nearest_vectors(corpus):
    _docs, vectors, _exact, probed = corpus
    recalls = []
    for row in range(0, 600, 30):
        truth = set(np.argsort(-(vectors @ vectors[row]))[:10].tolist())
        rows, cos = probed.ivf.candidates(vectors[row], min_candidates=200)
        found = set(rows[np.argsort(-cos)[:10]].tolist())
        recalls.append(len(truth & found) / 10)
    assert np.mean(recalls) >= 0.9


def test_probe_widens_until_enough_allowed_candidates(corpus):
    _docs, vectors, _exact, probed = corpus
    ivf = probed.ivf
    allowed = np.zeros(600, dtype=bool)
    allowed[::50] = True  # 12 documents, spread over the lists
    rows, _cos = ivf.candidates(vectors[0], allowed=allowed, n_probe=1, min_candidates=12)
    assert sorted(rows.tolist()) == list(range(0, 600, 50))
    rows, _cos = ivf.candidates(vectors[0], allowed=allowed, n_probe=1, min_candidates=0)
    assert len(rows) < 12 and allowed[rows].all()  # one list only


def test_filtered_hybrid_search_with_ivf(corpus):
    docs, vectors, exact, probed = corpus
    only = {f"d{i}" for i in range(0, 600, 7)}
    mask = np.array([d.doc_id in only for d in docs])
    want = exact.search("陶瓷催化剂", k=10, query_vector=vectors[5], mask=mask)
    got = probed.search("陶瓷催化剂", k=10, query_vector=vectors[5], mask=mask)
    assert len(got) == 10 and {h.doc_id for h in got} <= only
    assert_same_ranking(got, want)  # 86 allowed documents: every list gets probed


def test_save_and_load_round_trip(tmp_path, corpus):
    _docs, vectors, _exact, probed = corpus
    probed.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx" / "ivf").iterdir()) == [
        "centroids.npy", "offsets.npy", "params.json", "rows.npy", "vectors.npy",
    ]  # fmt: skip
    loaded = Index.load(tmp_path / "idx")
    ivf = loaded.ivf
    assert ivf is not None and (ivf.n_lists, ivf.n_probe) == (probed.ivf.n_lists, probed.ivf.n_probe)
    assert isinstance(ivf.vectors.base, np.memmap) and not ivf.vectors.flags.writeable
    for name in ("centroids", "offsets", "rows", "vectors"):
        assert np.array_equal(getattr(ivf, name), getattr(probed.ivf, name))
    before = probed.search("芯片封装", k=10, query_vector=vectors[9])
    assert [tuple(h[:2]) for h in loaded.search("芯片封装", k=10, query_vector=vectors[9])] == [
        tuple(h[:2]) for h in before
    ]
    small = Index.build(synthetic_documents(20), vectors=clustered_vectors(20))
    small.save(tmp_path / "small")
    assert not (tmp_path / "small" / "ivf").exists() and Index.load(tmp_path / "small").ivf is None


def test_ivf_refuses_an_empty_matrix():
    with pytest.raises(ValueError, match="no vectors"):
        IVFIndex.build(np.zeros((5, 4), dtype=np.float32), np.zeros(5, dtype=bool))


# ------------------------------------------------------------------ common-term skip (lexical side)
def common_corpus(n: int = 1200) -> list[Document]:
    """Every document names 复合材料 and 生产工艺; one in six also a specific topic."""
    topics = ["锂电池隔膜", "光伏组件", "污水处理"]
    return [
        Document(f"c{i}", "复合材料的生产工艺。" + (f"{topics[i % 3]}的制备。" if i % 6 == 0 else "其他内容。"))
        for i in range(n)
    ]


def test_very_common_terms_are_not_scored_next_to_specific_ones():
    index = Index.build(common_corpus())
    sub = index.lexical["words"]
    common, specific = sub.vocab["生产工艺"], sub.vocab["隔膜"]
    assert sub.document_frequency(common) == 1200 and sub.document_frequency(specific) == 200
    assert index._scored_terms(sub, [common, specific]) == [specific]
    with_common = index.lexical_scores("生产工艺隔膜")
    assert np.array_equal(with_common, index.lexical_scores("隔膜"))  # the common word adds nothing
    index.common_term_fraction = 1.0  # the skip turned off: the common word is scored again
    assert not np.array_equal(index.lexical_scores("生产工艺隔膜"), with_common)


def test_query_made_only_of_common_terms_still_returns_results():
    index = Index.build(common_corpus())
    hits = index.search("复合材料生产工艺", k=5)
    assert len(hits) == 5 and hits[0].explanation.shared_terms == ["复合材料", "生产工艺"]
    sub = index.lexical["words"]
    ids = sub.term_ids(["复合材料", "生产工艺"])
    assert index._scored_terms(sub, ids) == ids


def test_small_corpus_scores_every_term():
    docs = common_corpus(index_module.COMMON_TERM_MIN_DOCS - 1)
    index = Index.build(docs)
    sub = index.lexical["words"]
    ids = sub.term_ids(["生产工艺", "隔膜"])
    assert index._scored_terms(sub, ids) == ids


def test_top_rows_keeps_positive_scores_and_ties_at_the_cut():
    top_rows = index_module._top_rows
    scores = np.array([0.0, 0.0, 3.0, 1.0, 2.0], dtype=np.float32)
    assert sorted(top_rows(scores, 2).tolist()) == [2, 4]
    assert sorted(top_rows(scores, 10).tolist()) == [2, 3, 4]  # never a document without a score
    assert sorted(top_rows(np.array([1.0, 1.0, 1.0, 0.0, 0.0]), 1).tolist()) == [0, 1, 2]  # tied with the first
    assert top_rows(np.zeros(6), 3).tolist() == []
    assert len(top_rows(np.ones(500), 2)) == 2  # a huge tie is cut to k
