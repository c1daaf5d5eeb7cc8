"""Retrieval metrics (BEIR conventions) and run/qrels file formats. No Django."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = ["load_jsonl", "load_qrels", "write_run", "read_run", "evaluate_run", "dcg", "CUTOFFS"]

CUTOFFS = (1, 10, 100)
Qrels = dict[str, dict[str, int]]
Run = dict[str, list[tuple[str, float]]]  # query id -> [(doc id, score)] best first


def load_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_qrels(path: str | Path) -> Qrels:
    """``query-id<TAB>corpus-id<TAB>score`` with an optional header line."""
    qrels: Qrels = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(float(row[2]))
    return qrels


def write_run(path: str | Path, run: Mapping[str, Sequence[tuple[str, float]]]) -> None:
    """One line per ranked document: ``query-id<TAB>corpus-id<TAB>rank<TAB>score`` (rank from 1)."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for qid, ranked in run.items():
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                fh.write(f"{qid}\t{doc_id}\t{rank}\t{score:.6f}\n")


def read_run(path: str | Path) -> Run:
    run: Run = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            qid, doc_id, _rank, score = line.rstrip("\n").split("\t")
            run.setdefault(qid, []).append((doc_id, float(score)))
    return run


def dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def evaluate_run(run: Mapping[str, Sequence[tuple[str, float]]], qrels: Qrels) -> dict[str, float]:
    """Mean recall@1/10/100, MRR@10 and nDCG@10 over the queries that have at least one relevant document.

    Relevant means grade > 0; nDCG uses the graded gain 2^grade − 1 (binary qrels give gain 1).
    A query missing from the run scores 0. Returns also ``queries`` (how many were averaged).
    """
    totals = {f"recall@{k}": 0.0 for k in CUTOFFS} | {"mrr@10": 0.0, "ndcg@10": 0.0}
    n = 0
    for qid, judged in qrels.items():
        relevant = {d: g for d, g in judged.items() if g > 0}
        if not relevant:
            continue
        n += 1
        ranked = [d for d, _ in run.get(qid, [])]
        for k in CUTOFFS:
            totals[f"recall@{k}"] += sum(1 for d in ranked[:k] if d in relevant) / len(relevant)
        for i, d in enumerate(ranked[:10]):
            if d in relevant:
                totals["mrr@10"] += 1.0 / (i + 1)
                break
        gains = [2 ** relevant.get(d, 0) - 1 for d in ranked[:10]]
        ideal = dcg(sorted((2**g - 1 for g in relevant.values()), reverse=True)[:10])
        totals["ndcg@10"] += dcg(gains) / ideal
    return {key: (value / n if n else 0.0) for key, value in totals.items()} | {"queries": n}
