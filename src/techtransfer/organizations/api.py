"""``/api/v1/organizations``: the organizations a user may see; contacts masked unless they manage it."""

from typing import Annotated, Literal

from django.db.models import Q
from ninja import Field, Query, Router, Schema

from techtransfer.accounts.api_auth import READ_AUTH, api_user
from techtransfer.core import access
from techtransfer.core.api import (
    DEFAULT_PAGE_SIZE,
    EMPTY_IS_NONE,
    MAX_PAGE_SIZE,
    READ_ERRORS,
    CodeRef,
    choice_description,
)

from .choices import OrganizationKind
from .models import Organization


class OrganizationOut(Schema):
    id: int
    name: str = Field(title="单位名称")
    kind: str = Field(title="单位类型", json_schema_extra={"enum": list(OrganizationKind.values)})
    kind_label: str = Field(title="单位类型（名称）")
    credit_code: str | None = Field(title="统一社会信用代码")
    region: CodeRef | None = Field(title="所属区域")
    division: CodeRef | None = Field(title="所在地行政区划")
    address: str = Field(title="地址")
    website: str = Field(title="网站")
    description: str = Field(title="简介")
    contact_name: str = Field(title="联系人")
    contact_phone: str = Field(title="联系电话", description="无管理权限时打码")
    contact_email: str = Field(title="联系邮箱", description="无管理权限时打码")
    is_example: bool = Field(title="示例数据")


class OrganizationPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[OrganizationOut]


class OrganizationListParams(Schema):
    q: str = Field("", max_length=200, title="关键词", description="单位名称或统一社会信用代码")
    kind: Annotated[Literal[tuple(OrganizationKind.values)] | None, EMPTY_IS_NONE] = Field(
        None, title="单位类型", description=choice_description(OrganizationKind.choices)
    )
    region: Annotated[str | None, EMPTY_IS_NONE] = Field(None, title="区域代码", description="含其下级区域")
    page: int = Field(1, ge=1, title="页码")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, title="每页条数")


def organization_data(org, *, user, manageable: bool) -> dict:
    ref = lambda r: {"code": r.code, "name": r.name} if r is not None else None  # noqa: E731
    return {
        "id": org.pk,
        "name": org.name,
        "kind": org.kind,
        "kind_label": str(org.get_kind_display()),
        "credit_code": org.credit_code,
        "region": ref(org.region),
        "division": ref(org.division),
        "address": org.address,
        "website": org.website,
        "description": org.description,
        "contact_name": org.contact_name,
        **access.contact_fields_for(user, org, editable=manageable),
        "is_example": org.is_example,
    }


def organization_list(*, user, q: str = "", kind: str | None = None, region: str | None = None):
    """The organizations ``user`` may see, filtered; read through ``Organization.objects.visible_to``."""
    found = Organization.objects.visible_to(user).select_related("region", "division")
    if q.strip():
        found = found.filter(Q(name__icontains=q.strip()) | Q(credit_code__iexact=q.strip()))
    if kind:
        found = found.filter(kind=kind)
    if region:
        found = found.filter(region__path__contains=f"/{region}/")
    return found.order_by("name", "id")


router = Router(tags=["单位"])


@router.get(
    "",
    response={200: OrganizationPage, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="organizations_list",
    url_name="organizations-list",
    summary="单位列表",
)
def list_organizations(request, params: Query[OrganizationListParams]):
    user = api_user(request)
    found = organization_list(user=user, q=params.q, kind=params.kind, region=params.region)
    count = found.count()
    start = (params.page - 1) * params.page_size
    items = list(found[start : start + params.page_size]) if count else []
    manageable = (
        set(Organization.objects.filter(pk__in=[o.pk for o in items]).manageable_by(user).values_list("pk", flat=True))
        if user is not None and items
        else set()
    )
    return {
        "count": count,
        "page": params.page,
        "page_size": params.page_size,
        "results": [organization_data(o, user=user, manageable=o.pk in manageable) for o in items],
    }


@router.get(
    "/{id}",
    response={200: OrganizationOut, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="organizations_detail",
    url_name="organizations-detail",
    summary="单位详情",
)
def get_organization(request, id: int):
    user = api_user(request)
    org = access.get_object_for(user, Organization.objects.select_related("region", "division"), id)
    manageable = user is not None and Organization.objects.filter(pk=org.pk).manageable_by(user).exists()
    return organization_data(org, user=user, manageable=manageable)
