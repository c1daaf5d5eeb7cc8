import json
from pathlib import Path

from django.db import transaction

from techtransfer.core.models import AdminDivision

from .models import Region

DATA_DIR = Path(__file__).resolve().parent / "data"


def region_tree_file(name: str) -> Path:
    candidate = Path(name)
    return candidate if candidate.suffix == ".json" else DATA_DIR / f"{name}.json"


@transaction.atomic
def region_tree_load(*, tree: str = "huaibei") -> int:
    """Create or update the deployment's region tree from a JSON file; returns the node count.

    A node that names a GB/T 2260 ``division`` takes its name from the code list, so no
    official name is typed by hand.
    """
    spec = json.loads(region_tree_file(tree).read_text(encoding="utf-8"))
    count = 0

    def upsert(node: dict, parent: Region | None, order: int) -> None:
        nonlocal count
        division = AdminDivision.objects.get(code=node["division"]) if node.get("division") else None
        name = node.get("name") or division.name
        path = (parent.path if parent else "/") + node["code"] + "/"
        region, _ = Region.objects.update_or_create(
            code=node["code"],
            defaults={
                "name": name,
                "kind": node["kind"],
                "parent": parent,
                "path": path,
                "division": division,
                "sort_order": order,
            },
        )
        count += 1
        for i, child in enumerate(node.get("children", [])):
            upsert(child, region, i)

    upsert(spec["root"], None, 0)
    return count


def region_root() -> Region | None:
    return Region.objects.filter(parent=None).order_by("sort_order", "code").first()
