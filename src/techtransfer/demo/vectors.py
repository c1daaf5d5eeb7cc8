"""Precomputed e5 vectors for the demo records, so that ``make demo`` builds a semantic index in seconds.

``data/vectors-e5.npz`` holds ``keys`` (n × 16 bytes: ``semantic.text_key`` of the model, ``passage`` and the
record's ``semantic_text``, exactly as ``matchmaking.indexing`` keys the embedding cache — plus, for demands,
``query`` and each of ``semantic.query_views`` of the text, their reading as a query), ``vecs`` (n × 384,
float16) and ``model_id``. It covers every example record of the indexed kinds in any status, so a demo record
published later has its vector already.

Regenerate it after changing the demo data, the indexed text (``indexing.record_text``) or the model::

    nice python -m techtransfer.demo.vectors        # migrates and loads the demo in a scratch directory

(375 passages and 40 query views: a few minutes at ~4 texts/s on two cores; texts the current file covers are reused).
``seed_embedding_cache()`` copies the vectors into the embedding cache; ``demo_load`` calls it after its
transaction commits.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

VECTORS_FILE = Path(__file__).resolve().parent / "data" / "vectors-e5.npz"
EMBED_BATCH = 16


def read_shipped(path: Path = VECTORS_FILE) -> tuple[str, np.ndarray, np.ndarray]:
    """(model id, keys as n × 16 uint8, vectors as n × dim float16) of the shipped file."""
    with np.load(path) as data:
        return str(data["model_id"]), data["keys"], data["vecs"]


def shipped_keys(path: Path = VECTORS_FILE) -> set[bytes]:
    _model_id, keys, _vecs = read_shipped(path)
    return {row.tobytes() for row in keys}


def seed_embedding_cache(path: Path = VECTORS_FILE) -> int:
    """Copy the shipped vectors that the embedding cache lacks into it; returns how many were added.

    Nothing happens when the configured embedder is another model (the keys would never match).
    """
    from techtransfer.matchmaking import indexing

    if not path.exists():
        return 0
    model_id, keys, vecs = read_shipped(path)
    cache = indexing.embedding_cache(model_id)
    if cache is None:
        return 0
    missing = [i for i, row in enumerate(keys) if cache.get(row.tobytes()) is None]
    if missing:
        cache.put([keys[i].tobytes() for i in missing], vecs[missing].astype(np.float32))
    return len(missing)


def example_documents():
    """The documents of every example record of the indexed kinds, in any status."""
    from techtransfer.core.registry import KINDS
    from techtransfer.matchmaking.indexing import INDEXED_KINDS, document_for

    for slug in INDEXED_KINDS:
        rows = KINDS[slug].model.objects.filter(is_example=True).select_related("region").order_by("pk")
        for obj in rows:
            yield document_for(slug, obj)


def write_vectors(path: Path = VECTORS_FILE) -> int:
    """Embed the demo texts with e5 and write ``path``; returns the count.

    Texts the previous file already covered come from the embedding cache (``load_demo`` seeded it), so a small
    change to the demo data costs only its new texts.
    """
    from techtransfer.matching import semantic
    from techtransfer.matchmaking.indexing import embedding_cache_dir, passage_text, query_texts

    embedder = semantic.E5Embedder()
    cache = semantic.EmbeddingCache(embedding_cache_dir(), embedder.model_id)
    docs = list(example_documents())
    texts = sorted({passage_text(doc) for doc in docs})
    queries = sorted(set(semantic.query_views(query_texts(docs)[1])[0]))  # demands read as queries
    progress = semantic.stderr_progress("演示数据语义向量")
    vecs = semantic.embed_cached(embedder, texts, semantic.PASSAGE, cache, batch_size=EMBED_BATCH, progress=progress)
    qvecs = semantic.embed_cached(embedder, queries, semantic.QUERY, cache, batch_size=EMBED_BATCH, progress=progress)
    vecs = np.concatenate([vecs, qvecs]) if queries else vecs
    keys = [semantic.text_key(embedder.model_id, semantic.PASSAGE, t) for t in texts]
    keys += [semantic.text_key(embedder.model_id, semantic.QUERY, t) for t in queries]
    count = len(keys)
    keys = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(count, 16)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez_compressed(tmp, keys=keys, vecs=vecs.astype(np.float16), model_id=np.array(embedder.model_id))
    os.replace(tmp, path)
    return count


def main() -> None:
    """Load the demo into a scratch directory and write the vectors of its records."""
    with tempfile.TemporaryDirectory(prefix="techtransfer-vectors-") as scratch:
        os.environ["TECHTRANSFER_VAR_DIR"] = scratch
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "techtransfer.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_codes", verbosity=0)
        call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        count = write_vectors()
    size = VECTORS_FILE.stat().st_size
    print(f"已写入 {VECTORS_FILE}：{count} 条语义向量（{size // 1024} KB）。", file=sys.stderr)


if __name__ == "__main__":
    main()
