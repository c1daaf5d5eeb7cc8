"""The hybrid index: build, persist, load (memory-mapped), search with filters and explanations."""

import numpy as np
import pytest

from techtransfer.matching import Document, Index
from techtransfer.matching.fusion import FusionRule
from techtransfer.matching.lexical import LexicalIndex
from techtransfer.matching.normalize import to_traditional
from techtransfer.matching.semantic import EmbeddingCache, HashEmbedder, embed_cached

DOCS = [
    Document(
        "ach:1",
        "一种锂离子电池隔膜的制备方法，提高隔膜的耐热性。",
        title="锂电池隔膜",
        fields={"region": "/340600/340603/"},
    ),
    Document(
        "ach:2", "废旧锂离子电池正极材料的回收工艺。", fields={"region": "/340600/340621/", "kind": "achievement"}
    ),
    Document("ach:3", "稻谷种植中的节水灌溉技术与智能控制系统。", fields={"region": "/340600/340603/"}),
    Document("ach:4", "工业污水处理用陶瓷膜材料。", fields={"region": "/340100/", "kind": ["achievement", "demo"]}),
    Document("ach:5", "基于深度学习的图像识别方法。", fields={"region": "/340600/340621/"}),
]


@pytest.fixture(scope="module")
def lexical_index():
    return Index.build(DOCS)


@pytest.fixture(scope="module")
def hybrid_index():
    return Index.build(DOCS, embedder=HashEmbedder())


def ranking(hits):
    return [h.doc_id for h in hits]


def test_lexical_ranking_is_exact(lexical_index):
    hits = lexical_index.search("锂电池隔膜", k=10)
    assert ranking(hits) == ["ach:1", "ach:2"]
    assert hits[0].score == pytest.approx(1.0)
    assert hits[0].explanation.shared_terms == ["锂电池", "隔膜"]
    assert hits[0].explanation.semantic is None and hits[0].explanation.lexical_weight == 1.0
    assert hits[1].explanation.shared_terms == ["电池"]  # "锂离子 电池" shares the word 电池, not 锂电池
    assert lexical_index.search("锂电", k=10)[0].explanation.shared_terms == ["锂电"]  # a bigram when no word is shared


def test_hybrid_ranking_and_explanation(hybrid_index):
    hits = hybrid_index.search("锂电池隔膜", k=3)
    assert ranking(hits) == ["ach:1", "ach:2", "ach:4"]  # ach:4 shares no term: the semantic side found it
    assert hits[2].explanation.shared_terms == [] and hits[2].explanation.lexical == 0.0
    top = hits[0]
    doc_id, score, why = top  # a plain (doc_id, score, explanation) tuple
    assert doc_id == "ach:1" and score == pytest.approx(1.0)
    assert why.lexical_weight == pytest.approx(FusionRule().w_short)
    assert why.as_dict()["shared_terms"] == ["锂电池", "隔膜"]


def test_filters_exact_list_and_prefix(lexical_index):
    assert ranking(lexical_index.search("锂电池", filters={"region__startswith": "/340600/340621/"})) == ["ach:2"]
    assert ranking(lexical_index.search("材料", filters={"kind": "demo"})) == ["ach:4"]
    assert ranking(lexical_index.search("材料", filters={"kind": ["achievement"]})) == ["ach:4", "ach:2"]
    assert lexical_index.search("材料", filters={"nosuchfield": "x"}) == []


def test_filter_masks_are_computed_once_and_not_shared_mutably():
    index = Index.build(DOCS)
    first = index.filter_mask({"kind": "achievement", "region__startswith": "/340600/"})
    assert first.tolist() == [False, True, False, False, False]
    first[:] = True  # the caller's copy: the cached per-filter masks stay as they were
    assert sorted(index._masks) == [("kind", ("achievement",)), ("region__startswith", ("/340600/",))]
    again = index.filter_mask({"kind": ["achievement"]})
    assert again.tolist() == [False, True, False, True, False]
    assert index.filter_mask({"kind": "achievement"}).tolist() == again.tolist()
    assert len(index._masks) == 2  # "achievement" and ["achievement"] are one filter
    with pytest.raises(ValueError, match="unknown filter operator"):
        index.filter_mask({"kind__gt": "a"})


def test_exclude_drops_the_query_record(lexical_index):
    assert ranking(lexical_index.search("锂离子电池", exclude=["ach:1"])) == ["ach:2"]
    assert lexical_index.search("锂离子电池", exclude=["ach:1", "ach:2", "missing"]) == []


def test_exclude_leaves_the_cached_filter_mask_and_the_callers_mask_alone():
    index = Index.build(DOCS)
    prefix = {"region__startswith": "/340600/"}
    caller_mask = np.ones(len(DOCS), dtype=bool)
    assert ranking(index.search("电池", filters=prefix, mask=caller_mask, exclude=["ach:1"])) == ["ach:2"]
    assert caller_mask.tolist() == [True] * len(DOCS)
    assert index.filter_mask(prefix).tolist() == [True, True, True, False, True]
    assert ranking(index.search("电池", filters=prefix)) == ["ach:1", "ach:2"]


def test_traditional_query_ranks_like_simplified(hybrid_index):
    query = "锂离子电池隔膜的制备"
    simplified = hybrid_index.search(query, k=5)
    traditional = hybrid_index.search(to_traditional(query), k=5)
    assert to_traditional(query) != query
    assert [(h.doc_id, round(h.score, 6)) for h in traditional] == [(h.doc_id, round(h.score, 6)) for h in simplified]


def test_persist_and_load_memory_mapped(tmp_path, hybrid_index):
    path = hybrid_index.save(tmp_path / "ix")
    assert sorted(p.name for p in path.iterdir()) == [
        "doc_ids.json", "fields.json", "has_vector.npy", "lexical", "manifest.json", "user_words.txt", "vectors.npy",
    ]  # fmt: skip
    loaded = Index.load(path, embedder=HashEmbedder())
    assert isinstance(loaded.vectors.base, np.memmap)  # a view of the read-only mapping, not a copy
    assert isinstance(loaded.lexical["bigrams"].data.base, np.memmap)
    assert not loaded.vectors.flags.writeable
    for q in ("锂电池隔膜", "节水灌溉", "图像识别算法"):
        assert [(h.doc_id, round(h.score, 6)) for h in loaded.search(q)] == [
            (h.doc_id, round(h.score, 6)) for h in hybrid_index.search(q)
        ]
    # saving again over the same directory replaces it whole
    Index.build(DOCS[:2]).save(path)
    assert len(Index.load(path)) == 2


def test_load_refuses_another_model(tmp_path, hybrid_index):
    hybrid_index.save(tmp_path / "ix")
    with pytest.raises(ValueError, match="built with hash-bigram-256"):
        Index.load(tmp_path / "ix", embedder=HashEmbedder(dim=64))


def test_precomputed_vectors_and_missing_ones(tmp_path):
    vectors = HashEmbedder().embed([d.full_text() for d in DOCS], "passage")
    vectors[2] = 0  # not embedded yet: gets no semantic score
    index = Index.build(DOCS, vectors=vectors)
    assert index.has_vector.tolist() == [True, True, False, True, True]
    qv = HashEmbedder().embed(["节水灌溉技术"], "query")[0]
    hits = index.search("节水灌溉技术", k=2, query_vector=qv)
    assert ranking(hits) == ["ach:3", "ach:2"]
    assert hits[0].explanation.shared_terms == ["节水", "灌溉"]  # 技术 is a stop word
    # lexical 1.0 (the best), semantic at the floor: the score is the lexical weight of a short query
    assert hits[0].explanation.semantic == 0.0 and hits[0].score == pytest.approx(FusionRule().w_short)
    assert index.stored_vector("ach:2").tolist() == vectors[1].tolist()
    assert index.stored_vector("ach:3") is None and index.stored_vector("nope") is None
    assert "ach:3" in index and "nope" not in index
    assert Index.build(DOCS).stored_vector("ach:1") is None  # lexical only


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        Index.build([("a", "x"), ("a", "y")])


def test_empty_index_and_empty_query(lexical_index):
    assert Index.build([]).search("锂电池") == []
    assert lexical_index.search("，。") == []


def test_lexical_scores_match_bm25s_lucene():
    bm25s = pytest.importorskip("bm25s")
    corpus = [["锂电", "电池", "隔膜", "电池"], ["电池", "回收"], ["隔膜", "材料", "材料", "材料"], ["图像"]]
    ours = LexicalIndex.build(corpus)
    ref = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    ref.index(corpus, show_progress=False)
    for query in (["电池", "隔膜"], ["材料"], ["图像", "回收", "电池"]):
        np.testing.assert_allclose(ours.scores(ours.term_ids(query)), ref.get_scores(query), rtol=1e-6)


def test_embedding_cache_computes_each_text_once(tmp_path):
    class CountingEmbedder(HashEmbedder):
        calls = 0

        def embed(self, texts, kind):
            CountingEmbedder.calls += len(texts)
            return super().embed(texts, kind)

    emb = CountingEmbedder()
    cache = EmbeddingCache(tmp_path, emb.model_id)
    first = embed_cached(emb, ["锂电池", "隔膜", "锂电池"], "passage", cache)
    assert CountingEmbedder.calls == 2
    again = embed_cached(emb, ["隔膜", "锂电池"], "passage", EmbeddingCache(tmp_path, emb.model_id))
    assert CountingEmbedder.calls == 2  # read back from disk by a fresh cache object
    np.testing.assert_array_equal(again, first[[1, 0]])
    embed_cached(emb, ["隔膜"], "query", cache)
    assert CountingEmbedder.calls == 3  # a query is embedded apart from a passage


def test_query_readings_are_stored_per_document_and_survive_a_reload(tmp_path):
    docs = [Document("demands:1", "锂电池隔膜耐高温"), Document("achievements:2", "隔膜涂覆工艺")]
    emb = HashEmbedder()
    passages = emb.embed([d.full_text() for d in docs], "passage")
    readings = np.zeros_like(passages)
    readings[0] = emb.embed([docs[0].full_text()], "query")[0]  # only the demand has a query reading
    index = Index.build(docs, vectors=passages, query_vectors=readings)
    assert np.allclose(index.stored_query_vector("demands:1"), readings[0])
    assert index.stored_query_vector("achievements:2") is None
    assert index.stored_query_vector("missing:3") is None
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert np.allclose(loaded.stored_query_vector("demands:1"), readings[0])
    assert loaded.stored_query_vector("achievements:2") is None
    assert Index.build(docs, vectors=passages).stored_query_vector("demands:1") is None
    with pytest.raises(ValueError, match="query_vectors must have one row per document"):
        Index.build(docs, vectors=passages, query_vectors=readings[:1])
