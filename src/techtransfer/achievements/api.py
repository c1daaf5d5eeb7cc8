"""What the generic registry API cannot guess about achievements: the shape of their JSON columns."""

from ninja import Field, Schema
from pydantic import ConfigDict

from .choices import IPKind


class IPItem(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        title="类型",
        description="；".join(f"{v} {label}" for v, label in IPKind.choices),
        json_schema_extra={"enum": list(IPKind.values)},
    )
    number: str = Field(title="编号", description="专利号如 ZL202310123456.6（校验位会被核对）")
    title: str = Field("", title="名称")


JSON_FIELD_TYPES = {
    "keywords": list[str],
    "ip_items": list[IPItem],
    "owners": list[str],
    "completers": list[str],
}
