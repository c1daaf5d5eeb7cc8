"""Per-query fusion of lexical (BM25) and semantic (cosine) scores.

The rule, kept deliberately simple so that it transfers to queries we have not seen:

* Each signal is rescaled over the candidate set: BM25 divided by its best score; cosine
  mapped linearly so the best candidate is 1 and the ``floor`` (the cosine of the 100th
  best document, a per-query estimate of "unrelated") is 0.
* The lexical weight depends on how long the query is, counted in content words after
  analysis: a short keyword or title query (≤ ``SHORT`` words) trusts exact terms with
  ``W_SHORT``; a long, colloquial demand (≥ ``LONG`` words) trusts meaning with ``W_LONG``;
  in between the weight is interpolated linearly.
* For a keyword or title query (≤ ``spread_max_words`` words) that weight is then set by the
  query's own evidence: each signal's share is scaled by how far its best document stands
  above its ``spread_rank``-th (10th) best, both on the rescaled 0..1 scale. A signal that
  singles out a few documents is trusted; one that is flat over its top ten (keywords that no
  document holds together, a vague embedding) is not. ``w = w0·g_lex / (w0·g_lex + (1 − w0)·g_sem)``.

``combine`` (the index's entry point) returns the fused scores and the weight it used; ``fuse``
fuses with a given weight. Pure numpy; the :class:`~techtransfer.matching.index.Index` calls it.
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
    # The spread test (module docstring). 10: hard-query nDCG@10 by rank 3/5/7/10/15/20/30: 0.533/0.541/0.542/
    # 0.543/0.539/0.536/0.533 (docs/benchmarks.md). Only up to 12 words: on long demands the judged set fell
    # (0.501 → 0.490 when applied up to 15 words). 0 turns it off (a fixed weight, ``--lexical-weight``).
    spread_rank: int = 10
    spread_max_words: int = 12

    def lexical_weight(self, n_query_words: int) -> float:
        """The weight by query length alone (before the spread test)."""
        if n_query_words <= self.short:
            return self.w_short
        if n_query_words >= self.long:
            return self.w_long
        frac = (n_query_words - self.short) / (self.long - self.short)
        return self.w_short + frac * (self.w_long - self.w_short)

    def spread_weight(self, weight: float, lexical: np.ndarray, semantic: np.ndarray, n_query_words: int) -> float:
        """``weight`` adjusted by the spread of each rescaled signal's top ``spread_rank`` (module docstring)."""
        if self.spread_rank <= 0 or n_query_words > self.spread_max_words:
            return weight
        lex_spread = _top_spread(lexical, self.spread_rank)
        sem_spread = _top_spread(semantic, self.spread_rank)
        total = weight * lex_spread + (1.0 - weight) * sem_spread
        if total <= 1e-9:  # both flat: nothing to tell them apart by
            return weight
        return weight * lex_spread / total

    def combine(
        self,
        lexical: np.ndarray,
        semantic: np.ndarray | None,
        n_query_words: int,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float]:
        """(fused scores, lexical weight used) for a query of ``n_query_words`` content words; ``semantic`` may be
        ``None`` (lexical only, weight 1). ``allowed`` as in :meth:`fuse`."""
        if semantic is None:
            return self.fuse(lexical, None, 1.0), 1.0
        lex = _rescale_lexical(lexical)
        sem = _rescale_semantic(semantic, self.floor_rank, allowed)
        weight = self.spread_weight(self.lexical_weight(n_query_words), lex, sem, n_query_words)
        return weight * lex + (1.0 - weight) * sem, weight

    def fuse(
        self,
        lexical: np.ndarray | None,
        semantic: np.ndarray | None,
        weight: float,
        allowed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Fused score vector (same length as the inputs) with a given lexical ``weight``; either input may be
        ``None``. ``allowed`` (boolean) restricts the documents the semantic floor is estimated on."""
        if semantic is None:
            assert lexical is not None
            return _rescale_lexical(lexical)
        sem = _rescale_semantic(semantic, self.floor_rank, allowed)
        if lexical is None:
            return sem
        return weight * _rescale_lexical(lexical) + (1.0 - weight) * sem


def _rescale_lexical(lexical: np.ndarray) -> np.ndarray:
    top = float(lexical.max(initial=0.0))
    return lexical / top if top > 0 else lexical


def _top_spread(scaled: np.ndarray, rank: int) -> float:
    """Best minus ``rank``-th best of a rescaled (0..1) score vector; with fewer documents, best minus worst."""
    n = scaled.shape[0]
    if n == 0:
        return 0.0
    best = float(scaled.max())
    if n < rank:
        return best - float(scaled.min())
    # Only the positive scores can be above the rank-th: most documents score 0, and a partition over that many
    # ties is slow (2 ms at 100k documents, against 0.04 ms for the positive few).
    above = scaled[scaled > 0]
    if above.shape[0] < rank:
        return best
    return best - float(np.partition(above, above.shape[0] - rank)[above.shape[0] - rank])


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
