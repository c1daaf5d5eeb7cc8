"""Index upkeep: one matching index of the *published* achievements, demands, experts and instruments.

- ``index_rebuild()`` (``techtransfer index rebuild``) reads the published records, builds a
  ``techtransfer.matching.Index`` and saves it under ``settings.MATCHING_INDEX_DIR`` (default
  ``VAR_DIR / "index"``) as ``records/`` plus ``stamp.json``, both replaced atomically.
- ``current_index()`` loads it once per process, lazily (arrays memory-mapped: every worker shares one copy),
  and reloads it when ``stamp.json`` changes (a rebuild by another process).
- Records are never re-indexed synchronously on publish, withdraw or edit. Instead every result is re-checked
  against the database at query time (``selectors``: published *and* ``visible_to(user)``), so a withdrawn
  record disappears at once, and ``index_pending()`` — a post-commit check, one query per kind — counts the
  records changed since the build started (``updated_at`` later than the stamp), which tells
  ``techtransfer index update`` to rebuild.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from techtransfer.core import multichoice
from techtransfer.core.choices import RecordStatus
from techtransfer.core.pagecache import bump_content_version
from techtransfer.core.registry import KINDS
from techtransfer.matching import Document, Index

INDEXED_KINDS = ("achievements", "demands", "experts", "instruments")
RECORDS_DIR = "records"
STAMP_FILE = "stamp.json"


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
        },
    )


def published_documents():
    for slug in INDEXED_KINDS:
        model = KINDS[slug].model
        rows = model.objects.filter(status=RecordStatus.PUBLISHED).select_related("region").order_by("pk")
        for obj in rows.iterator(chunk_size=2000):
            yield document_for(slug, obj)


@dataclass(frozen=True)
class BuildResult:
    documents: int
    started_at: datetime.datetime
    with_vectors: bool


def index_rebuild(*, with_vectors: bool = False, progress=None, directory: Path | None = None) -> BuildResult:
    """Rebuild the whole index from the database. ``progress(done, total)`` is called while reading records.

    The stamp is the time the build *started*: a record changed while it ran counts as pending afterwards.
    """
    directory = directory or index_dir()
    started = timezone.now()
    total = sum(KINDS[s].model.objects.filter(status=RecordStatus.PUBLISHED).count() for s in INDEXED_KINDS)
    docs = []
    for doc in published_documents():
        docs.append(doc)
        if progress is not None and (len(docs) % 200 == 0 or len(docs) == total):
            progress(len(docs), total)
    if progress is not None and not docs:
        progress(0, 0)
    embedder = cache = None
    if with_vectors:  # slow (e5 on CPU): only from the command line, never in a request
        from techtransfer.matching import semantic

        embedder = semantic.E5Embedder()
        cache_dir = os.environ.get("TECHTRANSFER_EMBEDDING_CACHE") or settings.VAR_DIR / "cache" / "embeddings"
        cache = semantic.EmbeddingCache(cache_dir, embedder.model_id)
    index = Index.build(docs, embedder=embedder, cache=cache, progress=progress if with_vectors else None)
    index.save(directory / RECORDS_DIR)
    stamp = {"built_at": started.isoformat(), "documents": len(docs), "with_vectors": with_vectors}
    tmp = directory / f".{STAMP_FILE}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(stamp), "utf-8")
    os.replace(tmp, directory / STAMP_FILE)
    bump_content_version()  # cached anonymous search pages and recommendation blocks show the new build
    return BuildResult(len(docs), started, with_vectors)


def read_stamp(directory: Path | None = None) -> dict | None:
    try:
        return json.loads(((directory or index_dir()) / STAMP_FILE).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


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
        return sum(KINDS[s].model.objects.filter(status=RecordStatus.PUBLISHED).count() for s in INDEXED_KINDS)
    built_at = datetime.datetime.fromisoformat(stamp["built_at"])
    index = current_index()
    indexed = index if index is not None else ()
    total = 0
    for slug in INDEXED_KINDS:
        changed = KINDS[slug].model.objects.filter(updated_at__gt=built_at).values_list("pk", "status")
        total += sum(1 for pk, status in changed if status == RecordStatus.PUBLISHED or doc_id_for(slug, pk) in indexed)
    return total


def index_update(*, with_vectors: bool = False, progress=None) -> BuildResult | None:
    """Rebuild when something is pending; None when the index is current."""
    if index_pending() == 0:
        return None
    return index_rebuild(with_vectors=with_vectors, progress=progress)
