"""The vectorised character-bigram field equals BM25 over the same bigrams as token lists."""

import numpy as np

from techtransfer.matching.bigrams import BigramIndex, bigram_keys, key_label
from techtransfer.matching.lexical import LexicalIndex

TEXTS = ["锂电池隔膜,电池", "电池回收 ph7 新", "隔膜材料材料的制备"]


def test_bigram_keys_and_labels():
    doc, keys = bigram_keys(TEXTS)
    labels = [key_label(int(k)) for k in keys]
    # pairs first, then lone characters (新); latin and digits are left to the word field
    assert list(zip(doc.tolist(), labels, strict=True)) == [
        (0, "锂电"), (0, "电池"), (0, "池隔"), (0, "隔膜"), (0, "电池"), (1, "电池"), (1, "池回"), (1, "回收"),
        (2, "隔膜"), (2, "膜材"), (2, "材料"), (2, "料材"), (2, "材料"), (2, "料的"), (2, "的制"), (2, "制备"),
        (1, "新"),
    ]  # fmt: skip


def test_scores_equal_the_token_list_index(tmp_path):
    tokens = [[key_label(int(k)) for d, k in zip(*bigram_keys(TEXTS), strict=True) if d == i] for i in range(3)]
    reference = LexicalIndex.build(tokens)
    ours = BigramIndex.build(TEXTS)
    ours.save(tmp_path / "b")
    loaded = BigramIndex.load(tmp_path / "b")
    for query in ("电池隔膜", "材料", "新电池", "无关"):
        ids = loaded.term_ids(query)
        expected = reference.scores(reference.term_ids([loaded.label(i) for i in ids]))
        np.testing.assert_allclose(loaded.scores(ids), expected, rtol=1e-6)
    assert [loaded.label(i) for i in loaded.term_ids("电池隔膜电池")] == ["电池", "池隔", "隔膜"]
    assert loaded.term_ids("无关") == []
    rows = np.array([0, 1, 2])
    assert loaded.docs_containing(loaded.term_ids("隔膜")[0], rows).tolist() == [True, False, True]
    assert loaded.document_frequency(loaded.term_ids("电池")[0]) == 2
