"""Per-query fusion of lexical (BM25) and semantic (cosine) scores.

The rule, kept deliberately simple so that it transfers to queries we have not seen:

* Each signal is rescaled over the candidate set: BM25 divided by its best score; cosine
  mapped linearly so the best candidate is 1 and the ``floor`` (the cosine of the 100th
  best document, a per-query estimate of "unrelated") is 0.
* The lexical weight depends on how long the query is, counted in content words after
  analysis: a short keyword or title query (≤ ``SHORT`` words) trusts exact terms with
  ``W_SHORT``; a long, colloquial demand (≥ ``LONG`` words) trusts meaning with ``W_LONG``;
  in between the weight is interpolated linearly.

``fuse`` is pure numpy; the :class:`~techtransfer.matching.index.Index` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FusionRule", "DEFAULT_RULE"]


@dataclass(frozen=True)
class FusionRule:
    short: int = 6
    long: int = 30
    w_short: float = 0.6
    w_long: float = 0.5
    floor_rank: int = 100

    def lexical_weight(self, n_query_words: int) -> float:
        if n_query_words <= self.short:
            return self.w_short
        if n_query_words >= self.long:
            return self.w_long
        frac = (n_query_words - self.short) / (self.long - self.short)
        return self.w_short + frac * (self.w_long - self.w_short)

    def fuse(
        self,
        lexical: np.ndarray | None,
        semantic: np.ndarray | None,
        weight: float,
        allowed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Fused score vector (same length as the inputs); either input may be ``None``.

        ``allowed`` (boolean) restricts the documents the semantic floor is estimated on."""
        if semantic is None:
            assert lexical is not None
            top = float(lexical.max(initial=0.0))
            return lexical / top if top > 0 else lexical
        sem = _rescale_semantic(semantic, self.floor_rank, allowed)
        if lexical is None:
            return sem
        top = float(lexical.max(initial=0.0))
        lex = lexical / top if top > 0 else lexical
        return weight * lex + (1.0 - weight) * sem


def _rescale_semantic(cos: np.ndarray, floor_rank: int, allowed: np.ndarray | None = None) -> np.ndarray:
    pool = cos if allowed is None else cos[allowed]
    n = pool.shape[0]
    if n == 0:
        return np.zeros_like(cos)
    best = float(pool.max())
    if n > floor_rank:
        floor = float(np.partition(pool, n - floor_rank)[n - floor_rank])
    else:
        floor = float(pool.min())
    span = best - floor
    if span <= 1e-9:
        return np.zeros_like(cos)
    return np.maximum(cos - floor, 0.0) / span


DEFAULT_RULE = FusionRule()
