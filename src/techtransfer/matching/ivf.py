"""Inverted-file (IVF) semantic index: coarse k-means lists over the stored vectors, probed instead of a full scan.

An exact cosine scan reads every stored vector per query (1.5 GB at a million 384-d float32 rows), which is what
kept a 1M-document match above its latency target. Above :data:`IVF_MIN_DOCS` documents the index also keeps:

* ``centroids.npy`` (float32, lists × dim): spherical k-means (cosine) trained with a few Lloyd iterations on a
  sample of the vectors, about √N lists;
* ``vectors.npy`` (float32): every vector that exists, **grouped by list**, so probing a list reads one contiguous
  block; ``rows.npy`` (int32) maps each grouped position back to its document row; ``offsets.npy`` (int64, lists
  + 1) holds each list's bounds. float32, not float16: numpy has no BLAS product for float16, and converting the
  probed rows cost more than the scan itself (measured at 1M: 105k probed rows, ~300 ms with float16).

A query ranks the lists by centroid similarity and scans the nearest ``n_probe`` (more while fewer than the
wanted number of allowed candidates were found); the cosines it returns are exact. The products are
``np.einsum``, not ``@``: OpenBLAS threads each of these small matrix-vector products, and on a busy 2-core
machine the thread hand-offs cost more than the arithmetic (1M documents, 50 lists probed, load 3.6: p95 224 ms
with ``@``, 45 ms with ``einsum``, 38 ms with BLAS limited to one thread, which is process-wide state). The
arrays are memory-mapped like the rest of the index (one copy shared by every process).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .lexical import load_array

__all__ = ["IVFIndex", "IVF_MIN_DOCS", "PROBE_FRACTION", "dot_rows"]

IVF_MIN_DOCS = 200_000  # below, an exact scan is fast enough (100k: hybrid p95 31 ms) and exact
PROBE_FRACTION = 0.1  # lists probed per query, as a fraction of all lists (quality measured in docs/benchmarks.md)
MIN_PROBE = 8
TRAIN_PER_LIST = 40  # k-means sample: this many vectors per list (at most all vectors)
TRAIN_ITERATIONS = 10
_CHUNK = 32_768  # rows per matrix product while assigning


def dot_rows(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` (float32) on the calling thread only (see the module docstring)."""
    return np.einsum("ij,j->i", np.asarray(matrix, dtype=np.float32), vector)


def _nearest(block: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the most similar centroid (dot product) for each row of ``block``."""
    out = np.empty(len(block), dtype=np.int32)
    for start in range(0, len(block), _CHUNK):
        part = np.asarray(block[start : start + _CHUNK], dtype=np.float32)
        out[start : start + len(part)] = np.argmax(part @ centroids.T, axis=1)
    return out


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


def train_centroids(sample: np.ndarray, n_lists: int, *, iterations: int, seed: int) -> np.ndarray:
    """Spherical k-means (Lloyd iterations, cosine): ``n_lists`` unit centroids for the rows of ``sample``."""
    rng = np.random.default_rng(seed)
    sample = np.asarray(sample, dtype=np.float32)
    centroids = sample[rng.choice(len(sample), n_lists, replace=False)].copy()
    for _ in range(iterations):
        assign = _nearest(sample, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, sample)
        sizes = np.bincount(assign, minlength=n_lists)
        empty = np.flatnonzero(sizes == 0)
        if len(empty):  # an empty list restarts on a random sample vector
            sums[empty] = sample[rng.choice(len(sample), len(empty), replace=False)]
        centroids = _unit_rows(sums)
    return centroids


class IVFIndex:
    def __init__(self, centroids: np.ndarray, offsets: np.ndarray, rows: np.ndarray, vectors: np.ndarray, n_probe: int):
        self.centroids = centroids
        self.offsets = offsets
        self.rows = rows
        self.vectors = vectors
        self.n_probe = n_probe

    @property
    def n_lists(self) -> int:
        return len(self.centroids)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        has_vector: np.ndarray | None = None,
        *,
        n_lists: int | None = None,
        n_probe: int | None = None,
        iterations: int = TRAIN_ITERATIONS,
        seed: int = 0,
        dtype: type = np.float32,
    ) -> IVFIndex:
        """Cluster the rows of ``vectors`` (L2-normalised; rows where ``has_vector`` is false are left out)."""
        present = np.arange(len(vectors)) if has_vector is None else np.flatnonzero(has_vector)
        if not len(present):
            raise ValueError("no vectors to index")
        n_lists = n_lists or max(1, round(math.sqrt(len(present))))
        n_lists = min(n_lists, len(present))
        rng = np.random.default_rng(seed)
        sample_rows = np.sort(rng.choice(present, min(len(present), n_lists * TRAIN_PER_LIST), replace=False))
        centroids = train_centroids(vectors[sample_rows], n_lists, iterations=iterations, seed=seed)
        assign = np.empty(len(present), dtype=np.int32)
        for start in range(0, len(present), _CHUNK):
            assign[start : start + _CHUNK] = _nearest(vectors[present[start : start + _CHUNK]], centroids)
        order = np.argsort(assign, kind="stable")  # by list, then by document row
        rows = present[order].astype(np.int32)
        offsets = np.zeros(n_lists + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign, minlength=n_lists), out=offsets[1:])
        grouped = np.empty((len(rows), vectors.shape[1]), dtype=dtype)
        for start in range(0, len(rows), _CHUNK):
            grouped[start : start + _CHUNK] = vectors[rows[start : start + _CHUNK]]
        if n_probe is None:
            n_probe = max(MIN_PROBE, math.ceil(n_lists * PROBE_FRACTION))
        return cls(centroids, offsets, rows, grouped, min(n_probe, n_lists))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("centroids", "offsets", "rows", "vectors"):
            np.save(directory / f"{name}.npy", getattr(self, name))
        params = {"n_lists": self.n_lists, "n_probe": self.n_probe, "dtype": str(self.vectors.dtype)}
        (directory / "params.json").write_text(json.dumps(params), "utf-8")

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> IVFIndex:
        params = json.loads((directory / "params.json").read_text("utf-8"))
        arrays = [load_array(directory / f"{name}.npy", mmap) for name in ("centroids", "offsets", "rows", "vectors")]
        return cls(*arrays, int(params["n_probe"]))

    def candidates(
        self,
        query: np.ndarray,
        *,
        allowed: np.ndarray | None = None,
        n_probe: int | None = None,
        min_candidates: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document rows, cosine) of the vectors in the lists nearest to ``query`` (approximate with float16 storage).

        Scans the ``n_probe`` nearest lists, then further lists in order of similarity until at least
        ``min_candidates`` rows pass ``allowed`` (boolean over document rows) or every list was scanned."""
        query = np.asarray(query, dtype=np.float32)
        order = np.argsort(-dot_rows(self.centroids, query), kind="stable")
        step = min(n_probe or self.n_probe, self.n_lists)
        rows_parts: list[np.ndarray] = []
        cos_parts: list[np.ndarray] = []
        found = 0
        done = 0
        while done < self.n_lists:
            for lst in order[done : done + step]:
                lo, hi = int(self.offsets[lst]), int(self.offsets[lst + 1])
                if hi == lo:
                    continue
                rows = self.rows[lo:hi]
                cos = dot_rows(self.vectors[lo:hi], query)
                if allowed is not None:
                    keep = allowed[rows]
                    rows, cos = rows[keep], cos[keep]
                rows_parts.append(rows)
                cos_parts.append(cos)
                found += len(rows)
            done += step
            if found >= min_candidates:
                break
        if not rows_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows_parts).astype(np.int64), np.concatenate(cos_parts)
