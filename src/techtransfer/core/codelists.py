"""Load the official code lists shipped in ``core/data`` (see docs/data-sources.md)."""

import csv
from pathlib import Path

from django.db import transaction

from .models import AdminDivision, IndustryCode

DATA_DIR = Path(__file__).resolve().parent / "data"
INDUSTRY_CSV = DATA_DIR / "gbt4754_2017_industry.csv"
DIVISIONS_CSV = DATA_DIR / "gbt2260_admin_divisions_2024.csv"


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _load(model, path: Path) -> int:
    rows = _rows(path)
    existing = set(model.objects.values_list("code", flat=True))
    # Parents come before children in the files; bulk-create without parents, then link.
    model.objects.bulk_create(
        [model(code=r["code"], name=r["name"], level=int(r["level"])) for r in rows if r["code"] not in existing],
        batch_size=500,
    )
    by_code = {obj.code: obj for obj in model.objects.all()}
    changed = []
    for r in rows:
        obj = by_code[r["code"]]
        parent = r["parent_code"] or None
        if obj.parent_id != parent or obj.name != r["name"]:
            obj.parent_id, obj.name = parent, r["name"]
            changed.append(obj)
    model.objects.bulk_update(changed, ["parent", "name"], batch_size=500)
    return len(rows)


@transaction.atomic
def code_lists_load() -> dict:
    """Idempotent: a second run changes nothing."""
    return {"industry": _load(IndustryCode, INDUSTRY_CSV), "divisions": _load(AdminDivision, DIVISIONS_CSV)}
