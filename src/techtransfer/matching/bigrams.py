"""Character-bigram BM25 field, vectorised: text → code points → bigram keys with numpy, no Python token objects.

A bigram of two Chinese characters is the 32-bit key ``(first << 16) | second`` (every CJK code point we
index is below U+10000); a lone Chinese character between non-Chinese ones is ``first << 16``. The field's
vocabulary is therefore a sorted ``uint32`` array (``keys.npy``), memory-mapped like the weights, and looked up
with ``np.searchsorted``: no per-process dictionary, whatever the corpus size. Weights are BM25 (Lucene
variant), exactly as :class:`~techtransfer.matching.lexical.LexicalIndex` computes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .analysis import STOPWORDS
from .lexical import K1, B, PostingMatrix, bm25_weights, load_array

__all__ = ["BigramIndex", "bigram_keys", "key_label"]

_CJK_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF))


def _is_cjk(cp: np.ndarray) -> np.ndarray:
    out = np.zeros(cp.shape, dtype=bool)
    for lo, hi in _CJK_RANGES:
        out |= (cp >= lo) & (cp <= hi)
    return out


def _stop_keys() -> np.ndarray:
    keys = []
    for w in STOPWORDS:
        if len(w) == 2:
            keys.append((ord(w[0]) << 16) | ord(w[1]))
        elif len(w) == 1:
            keys.append(ord(w) << 16)
    return np.unique(np.array(keys, dtype=np.uint32))


_STOP_KEYS = _stop_keys()


def bigram_keys(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(document number, key) for every bigram of ``texts`` (normalised, lower-cased), stop words removed."""
    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    joined = "\x00".join(texts) + "\x00"
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    cjk = _is_cjk(cp)
    prev = np.concatenate(([False], cjk[:-1]))
    nxt = np.concatenate((cjk[1:], [False]))
    pair_pos = np.flatnonzero(cjk & nxt)
    lone_pos = np.flatnonzero(cjk & ~prev & ~nxt)
    keys = np.concatenate(((cp[pair_pos] << 16) | cp[pair_pos + 1], cp[lone_pos] << 16)).astype(np.uint32)
    pos = np.concatenate((pair_pos, lone_pos))
    starts = np.flatnonzero(cp == 0)  # the separator after each text
    doc = np.searchsorted(starts, pos)
    keep = ~np.isin(keys, _STOP_KEYS)
    return doc[keep].astype(np.int64), keys[keep]


def key_label(key: int) -> str:
    first, second = key >> 16, key & 0xFFFF
    return chr(first) + (chr(second) if second else "")


class BigramIndex(PostingMatrix):
    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, keys: np.ndarray, n_docs: int):
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.keys = keys
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Iterable[str], *, k1: float = K1, b: float = B, chunk: int = 20_000) -> BigramIndex:
        pairs = []  # per chunk: unique (key << 32 | doc) with counts
        counts = []
        doc_len_parts = []
        n_docs = 0
        batch: list[str] = []

        def flush():
            nonlocal n_docs
            doc, keys = bigram_keys(batch)
            combined = (keys.astype(np.uint64) << np.uint64(32)) | (doc + n_docs).astype(np.uint64)
            uniq, tf = np.unique(combined, return_counts=True)
            pairs.append(uniq)
            counts.append(tf.astype(np.int32))
            doc_len_parts.append(np.bincount(doc, minlength=len(batch)))
            n_docs += len(batch)
            batch.clear()

        for text in texts:
            batch.append(text)
            if len(batch) >= chunk:
                flush()
        if batch or not pairs:
            flush()
        combined = np.concatenate(pairs)
        tf = np.concatenate(counts).astype(np.float64)
        order = np.argsort(combined, kind="stable")
        combined, tf = combined[order], tf[order]
        key_of = (combined >> np.uint64(32)).astype(np.uint32)
        row = (combined & np.uint64(0xFFFFFFFF)).astype(np.int32)
        keys, col, df = np.unique(key_of, return_inverse=True, return_counts=True)
        doc_len = np.concatenate(doc_len_parts).astype(np.float64)
        data = bm25_weights(tf, col, row, df.astype(np.float64), doc_len, k1=k1, b=b)
        indptr = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return cls(data, row, indptr, keys.astype(np.uint32), n_docs)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("data", "indices", "indptr", "keys"):
            np.save(directory / f"{name}.npy", getattr(self, name))
        (directory / "params.json").write_text(json.dumps({"n_docs": self.n_docs, "k1": K1, "b": B}), "utf-8")

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> BigramIndex:
        params = json.loads((directory / "params.json").read_text("utf-8"))
        arrays = [load_array(directory / f"{name}.npy", mmap) for name in ("data", "indices", "indptr", "keys")]
        return cls(*arrays, int(params["n_docs"]))

    def term_ids(self, text: str) -> list[int]:
        """Distinct term ids of the bigrams of ``text`` (normalised, lower-cased), in order of first occurrence."""
        _doc, keys = bigram_keys([text])
        if not len(keys) or not len(self.keys):
            return []
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        return [int(p) for p in pos[self.keys[pos] == keys]]

    def label(self, term_id: int) -> str:
        return key_label(int(self.keys[term_id]))
