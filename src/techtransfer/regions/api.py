"""``/api/v1/regions``: the deployment's region tree (city → districts, counties and parks)."""

from ninja import Field, Router, Schema

from techtransfer.accounts.api_auth import READ_AUTH
from techtransfer.core.api import READ_ERRORS

from .choices import RegionKind
from .models import Region


class RegionNode(Schema):
    code: str = Field(title="区域代码")
    name: str = Field(title="名称")
    kind: str = Field(title="类型", json_schema_extra={"enum": list(RegionKind.values)})
    kind_label: str = Field(title="类型（名称）")
    division: str | None = Field(title="GB/T 2260 行政区划代码", description="园区没有")
    children: list["RegionNode"] = Field(title="下级区域")


RegionNode.model_rebuild()


def region_tree() -> list[dict]:
    """The whole tree in one query, roots first, children by ``sort_order``."""
    nodes, roots = {}, []
    regions = list(Region.objects.order_by("sort_order", "code"))
    for r in regions:
        nodes[r.pk] = {
            "code": r.code,
            "name": r.name,
            "kind": r.kind,
            "kind_label": str(r.get_kind_display()),
            "division": r.division_id,
            "children": [],
        }
    for r in regions:
        (nodes[r.parent_id]["children"] if r.parent_id in nodes else roots).append(nodes[r.pk])
    return roots


router = Router(tags=["代码表"])


@router.get(
    "",
    response={200: list[RegionNode], **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="regions_tree",
    url_name="regions-tree",
    summary="区域树",
    description="本平台的区域树：市、县区和园区。筛选参数 region 可用其中任一代码，含其下级。",
)
def regions(request):
    return region_tree()
