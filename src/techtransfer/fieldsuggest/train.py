"""Train the shipped field-suggestion models and write them under ``fieldsuggest/data/``.

    python -m techtransfer.fieldsuggest.train [--data ../shared/data/classification] [--out DIR] [--target T ...]

For each target (``discipline``: 67 disciplines; ``field``: 11 technology fields) it trains on
``<data>/<target's train file>``, writes ``<out>/<target>.npz``, and, when the matching dev file is there, prints
accuracy and macro-F1 on it. The archive holds hash-bucket numbers, idf values and weights only — no text.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from techtransfer.fieldsuggest.evaluation import read_jsonl, score
from techtransfer.fieldsuggest.model import MODEL_DIR, TARGETS, EnsembleModel, compose_text, model_path

DEFAULT_DATA = Path("..") / "shared" / "data" / "classification"
LABEL_KEYS = {"discipline": "discipline", "field": "field"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def train_target(target: str, data_dir: Path, out_dir: Path, *, out=sys.stdout) -> EnsembleModel:
    spec = TARGETS[target]
    train_path = data_dir / spec["train"]
    records = read_jsonl(train_path)
    label_key = LABEL_KEYS[target]
    started = time.perf_counter()
    model = EnsembleModel.train(
        [compose_text(r) for r in records],
        [str(r[label_key]) for r in records],
        meta={"target": target, "train_file": spec["train"], "train_sha256": _sha256(train_path)},
    )
    seconds = time.perf_counter() - started
    path = model.save(model_path(target, out_dir))
    print(
        f"{target}: {len(records)} records, {len(model.labels)} labels, "
        f"{' + '.join(str(len(m.buckets)) for m in model.members)} features, "
        f"trained in {seconds:.1f} s → {path} ({path.stat().st_size / 1e6:.1f} MB)",
        file=out,
    )
    dev_path = data_dir / spec["dev"]
    if dev_path.exists():
        dev = read_jsonl(dev_path)
        accuracy, macro_f1 = score(model, dev, label_key)
        print(f"{target}: dev {spec['dev']} accuracy {accuracy:.4f} macro-F1 {macro_f1:.4f}", file=out)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m techtransfer.fieldsuggest.train", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the classification jsonl files")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where to write <target>.npz")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="default: all targets")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data} is not a folder")
    for target in args.target or list(TARGETS):
        train_target(target, args.data, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
