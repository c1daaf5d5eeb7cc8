"""How a free-text query is read by the embedding model: the whole query, plus sentence pieces when it is long."""

import numpy as np

from techtransfer.matching.semantic import (
    PASSAGE_CHARS,
    QUERY,
    QUERY_CHARS,
    EmbeddingCache,
    HashEmbedder,
    embed_queries,
    query_pieces,
    query_semantic_text,
    text_key,
)

SENTENCE = "我公司需要一种耐高温的锂离子电池隔膜，要求在一百八十摄氏度下不收缩。"  # 34 characters
ASK_A = SENTENCE * 3  # 102 characters
ASK_B = "另外希望开发废旧电池正极材料的回收工艺。"  # 20 characters


def test_a_short_query_is_one_piece_only():
    assert query_pieces("锂电池隔膜") == []
    assert query_pieces("短" * PASSAGE_CHARS) == []


def test_a_long_query_is_cut_at_sentence_ends_into_pieces_no_longer_than_a_passage():
    text = ASK_A + ASK_B + ASK_A
    pieces = query_pieces(text)  # 224 characters: sentences are gathered while they fit in 160
    assert pieces == [ASK_A + ASK_B + SENTENCE, SENTENCE * 2]
    assert [len(p) for p in pieces] == [156, 68]


def test_a_sentence_longer_than_a_passage_is_cut_and_the_query_at_its_whole_length():
    text = "无标点" * 300  # 900 characters, no sentence end
    assert len(query_semantic_text(text)) == QUERY_CHARS
    pieces = query_pieces(text)
    assert [len(p) for p in pieces] == [160, 160, 160, 32]
    assert "".join(pieces) == text[:QUERY_CHARS]


def test_a_long_query_vector_is_the_whole_plus_the_mean_of_its_pieces(tmp_path):
    embedder = HashEmbedder()
    cache = EmbeddingCache(tmp_path, embedder.model_id)
    short, long = "锂电池隔膜", ASK_A + ASK_B + ASK_A
    got = embed_queries(embedder, [short, long], cache)
    assert got.shape == (2, embedder.dim)
    assert np.allclose(got[0], embedder.embed([short], QUERY)[0])  # a short query: its own vector
    whole = embedder.embed([long], QUERY)[0]
    pieces = embedder.embed([ASK_A + ASK_B + SENTENCE, SENTENCE * 2], QUERY)
    expected = whole + pieces.mean(axis=0)
    assert np.allclose(got[1], expected / np.linalg.norm(expected), atol=1e-6)
    assert not np.allclose(got[1], whole, atol=1e-3)
    # every view went through the cache: a second call embeds nothing
    assert cache.get(text_key(embedder.model_id, QUERY, SENTENCE * 2)) is not None
    embedder.embed = None  # would raise if called
    assert np.allclose(embed_queries(embedder, [long], cache)[0], got[1])
