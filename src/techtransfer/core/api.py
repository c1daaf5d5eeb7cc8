"""The REST API of every registry kind, built once from ``core.registry.KINDS``, and the industry code list.

``registry_router(kind)`` returns a router with list, detail, create, update, workflow action and
timeline endpoints. Its schemas are derived from the kind's model, so a field added to a model
appears in the API (and in ``openapi.json``) without another line here. Handlers only parse input,
call one selector or service and shape the output; who may do what is decided in ``core.access``
and ``core.services``.
"""

import datetime
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import BeforeValidator, ConfigDict, create_model

from techtransfer.accounts.api_auth import READ_AUTH, WRITE_AUTH, api_user
from techtransfer.audit.choices import EventAction
from techtransfer.audit.selectors import event_timeline
from techtransfer.core.pagination import page_rows

from . import access, multichoice, services
from .choices import RecordStatus, WorkflowAction
from .errors import ErrorCode, ServiceError
from .models import IndustryCode, RegistryRecord
from .registry import RegistryKind
from .selectors import record_list

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

# Never accepted from a client: the workflow and bookkeeping own them (``services.PROTECTED_FIELDS``),
# demo data is flagged by the loader, and linking a record to a user account is not an API operation yet.
NOT_WRITABLE = services.PROTECTED_FIELDS | {"is_example"}
NOT_SHOWN = frozenset({"created_by", "review_comment"})
BASE_FIELDS = frozenset(f.name for f in RegistryRecord._meta.fields)


# ---------------------------------------------------------------------------------------------------------------
# Shared schemas


class OrganizationRef(Schema):
    id: int = Field(title="单位 ID")
    name: str = Field(title="单位名称")


class CodeRef(Schema):
    code: str = Field(title="代码")
    name: str = Field(title="名称")


class ErrorOut(Schema):
    code: str = Field(title="错误代码", description="invalid、forbidden、not_found、unauthenticated 等")
    message: str = Field(title="说明")
    details: dict[str, list[str]] = Field(default_factory=dict, title="逐字段的错误说明")


class ActionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field("", max_length=2000, title="意见", description="审核意见或说明；退回修改时必填")


class EventOut(Schema):
    id: int
    at: datetime.datetime = Field(title="时间")
    action: str = Field(title="操作", json_schema_extra={"enum": list(EventAction.values)})
    action_label: str = Field(title="操作名称")
    actor: str = Field(title="操作人")
    from_status: str = Field(title="原状态")
    to_status: str = Field(title="新状态")
    comment: str = Field(title="说明")
    summary: str = Field(title="摘要")
    changed_fields: list[str] = Field(title="变更的字段", description="只列字段名，不含取值（联系方式不外泄）")


ERROR_RESPONSES = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}


def local(value: datetime.datetime | None) -> datetime.datetime | None:
    return timezone.localtime(value) if value is not None else None


def enum_str(values, *, title: str = "", description: str = ""):
    """A string documented as one of ``values``; the model's ``full_clean`` gives the Chinese error."""
    return Annotated[str, Field(title=title, description=description, json_schema_extra={"enum": list(values)})]


def choice_description(choices) -> str:
    return "；".join(f"{value} {label}" for value, label in choices)


# ---------------------------------------------------------------------------------------------------------------
# From model fields to API fields


def _is_user_fk(f) -> bool:
    return f.is_relation and f.related_model._meta.label == settings.AUTH_USER_MODEL


def _has_code(model) -> bool:
    return any(field.name == "code" for field in model._meta.fields)


def _reference_kind(f) -> str:
    """How a foreign key travels: organizations by id, code lists and regions by code."""
    label = f.related_model._meta.label
    if label == "organizations.Organization":
        return "id"
    if _is_user_fk(f):
        return "user"
    if _has_code(f.related_model):
        return "code"
    return "id"


def _scalar_type(f, json_types: dict):
    if isinstance(f, models.BooleanField):
        return bool
    if isinstance(f, models.IntegerField):
        return int
    if isinstance(f, models.DecimalField):
        return decimal.Decimal
    if isinstance(f, models.DateTimeField):
        return datetime.datetime
    if isinstance(f, models.DateField):
        return datetime.date
    if isinstance(f, models.JSONField):
        if f.name in json_types:
            return json_types[f.name]
        default = f.get_default()
        return list[Any] if isinstance(default, list) else dict[str, Any] if isinstance(default, dict) else Any
    return str


@dataclass(frozen=True)
class OutField:
    name: str
    annotation: Any
    read: Callable  # (obj, contacts) -> value


@dataclass(frozen=True)
class InField:
    name: str  # the name a client sends
    annotation: Any
    required: bool
    nullable: bool
    model_field: Any
    reference: str = ""  # "id" or "code" for foreign keys
    multi: bool = False  # a list of codes stored as ``,a,b,``


def _out_fields(model, json_types: dict) -> list[OutField]:
    multi = model.MULTI_CHOICE_FIELDS
    own, base = [], []
    for f in model._meta.concrete_fields:
        if f.name in NOT_SHOWN or f.name == "id":
            continue
        target = base if f.name in BASE_FIELDS else own
        title = str(f.verbose_name)
        if f.name in model.MASKED_FIELDS:
            target.append(
                OutField(
                    f.name,
                    Annotated[str, Field(title=title, description="无编辑权限时打码")],
                    lambda o, c, n=f.name: c[n],
                )
            )
        elif f.name == "status":
            target.append(OutField("status", enum_str(RecordStatus.values, title=title), lambda o, c: o.status))
            target.append(
                OutField(
                    "status_label", Annotated[str, Field(title="状态名称")], lambda o, c: str(o.get_status_display())
                )
            )
        elif f.is_relation:
            how = _reference_kind(f)
            if how == "user":
                target.append(
                    OutField(
                        f"{f.name}_id",
                        Annotated[int | None, Field(title=title)],
                        lambda o, c, a=f.attname: getattr(o, a),
                    )
                )
            elif f.related_model._meta.label == "organizations.Organization":
                target.append(OutField(f.name, Annotated[OrganizationRef | None, Field(title=title)], _org_ref(f)))
            else:
                target.append(OutField(f.name, Annotated[CodeRef | None, Field(title=title)], _code_ref(f)))
        elif f.name in multi:
            choices = multi[f.name]
            target.append(
                OutField(
                    f.name,
                    Annotated[list[str], Field(title=title, description=choice_description(choices.choices))],
                    lambda o, c, n=f.name: multichoice.decode(getattr(o, n)),
                )
            )
        elif isinstance(f, models.DecimalField):
            target.append(
                OutField(
                    f.name,
                    Annotated[str | None, Field(title=title, description='十进制数的文字形式，如 "12.50"')],
                    _decimal_text(f),
                )
            )
        elif isinstance(f, models.DateTimeField):
            target.append(
                OutField(
                    f.name,
                    Annotated[datetime.datetime | None, Field(title=title)],
                    lambda o, c, n=f.name: local(getattr(o, n)),
                )
            )
        else:
            kind = _scalar_type(f, json_types)
            annotation = kind | None if f.null else kind
            if f.choices:
                values = [v for v, _label in f.choices]
                annotation = Annotated[annotation, Field(title=title, json_schema_extra={"enum": values})]
                target.append(OutField(f.name, annotation, lambda o, c, n=f.name: getattr(o, n)))
                target.append(
                    OutField(
                        f"{f.name}_label",
                        Annotated[str, Field(title=f"{title}（名称）")],
                        lambda o, c, n=f.name: str(getattr(o, f"get_{n}_display")()),
                    )
                )
            else:
                target.append(
                    OutField(f.name, Annotated[annotation, Field(title=title)], lambda o, c, n=f.name: getattr(o, n))
                )
    return [OutField("id", int, lambda o, c: o.pk), *own, *base]


def _decimal_text(f):
    spec = f".{f.decimal_places}f"

    def read(obj, contacts):
        value = getattr(obj, f.name)
        return None if value is None else format(decimal.Decimal(value), spec)

    return read


def _org_ref(f):
    def read(obj, contacts):
        if getattr(obj, f.attname) is None:
            return None
        org = getattr(obj, f.name)
        return {"id": org.pk, "name": org.name}

    return read


def _code_ref(f):
    def read(obj, contacts):
        if getattr(obj, f.attname) is None:
            return None
        ref = getattr(obj, f.name)
        return {"code": getattr(ref, "code", ref.pk), "name": ref.name}

    return read


def _in_fields(model, json_types: dict) -> list[InField]:
    result = []
    for f in model._meta.concrete_fields:
        if f.name in NOT_WRITABLE or f.auto_created or not f.editable:
            continue
        title = str(f.verbose_name)
        description = str(f.help_text or "")
        required = not f.blank and not f.has_default() and not f.null
        if f.is_relation:
            how = _reference_kind(f)
            if how == "user":
                continue
            if how == "id":
                name, kind, description = f"{f.name}_id", int, description or f"{title}的 ID"
            else:
                name, kind, description = f.name, str, description or f"{title}的代码"
            result.append(
                InField(name, Annotated[kind, Field(title=title, description=description)], required, f.null, f, how)
            )
            continue
        if f.name in model.MULTI_CHOICE_FIELDS:
            choices = model.MULTI_CHOICE_FIELDS[f.name]
            item = Annotated[str, Field(json_schema_extra={"enum": list(choices.values)})]
            annotation = Annotated[
                list[item], Field(title=title, description=f"可多选：{choice_description(choices.choices)}")
            ]
            result.append(InField(f.name, annotation, required, False, f, multi=True))
            continue
        kind = _scalar_type(f, json_types)
        extra = {}
        if f.choices:
            values = [v for v, _label in f.choices]
            extra["json_schema_extra"] = {"enum": values + ([""] if f.blank else [])}
            description = description or choice_description(f.choices)
        if kind is decimal.Decimal:
            extra["allow_inf_nan"] = False
        result.append(
            InField(f.name, Annotated[kind, Field(title=title, description=description, **extra)], required, f.null, f)
        )
    return result


class _StrictInput(Schema):
    model_config = ConfigDict(extra="forbid")


# Set when a record is created, not moved later: a record changing hands would need its own access rule.
FIXED_AFTER_CREATE = frozenset({"organization"})


def _input_schema(name: str, fields: list[InField], *, partial: bool):
    definitions = {}
    for f in fields:
        if partial and f.model_field.name in FIXED_AFTER_CREATE:
            continue
        annotation = f.annotation
        if f.nullable:
            annotation = annotation | None
        if f.required and not partial:
            definitions[f.name] = (annotation, ...)
        else:
            # ``None`` is never validated: an omitted field is left out (exclude_unset), an explicit null
            # is refused unless the column is nullable.
            definitions[f.name] = (annotation, None)
    return create_model(name, __base__=_StrictInput, **definitions)


# ---------------------------------------------------------------------------------------------------------------
# Turning validated input into service arguments


def _resolve(field: InField, value):
    """A client's value → the model attribute value; unknown references are a Chinese validation error."""
    f = field.model_field
    if field.reference:
        if value is None:
            return None
        related = f.related_model
        lookup = {"pk": value} if field.reference == "id" else {"code": value}
        manager = related._default_manager
        if related._meta.label == "organizations.Organization":
            manager = manager.select_related("region")
        found = manager.filter(**lookup).first()
        if found is None:
            raise ValueError(_("不存在：%(v)s") % {"v": value})
        return found
    if field.multi:
        return multichoice.encode(value or [])
    if isinstance(value, Schema):
        return value.model_dump()
    if isinstance(value, list):
        return [v.model_dump() if isinstance(v, Schema) else v for v in value]
    return value


def service_fields(in_fields: dict[str, InField], data: dict) -> dict:
    fields, errors = {}, {}
    for name, value in data.items():
        spec = in_fields[name]
        try:
            fields[spec.model_field.name] = _resolve(spec, value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ServiceError(ErrorCode.INVALID, details=errors)
    return fields


# ---------------------------------------------------------------------------------------------------------------
# Query parameters of a list


def _filter_annotation(kind: RegistryKind, spec: str):
    model = kind.model
    if spec == "region":
        return str, "区域代码，含其下级区域（如 340600 淮北市、340603 相山区）"
    if spec == "industry":
        return str, "国民经济行业代码（GB/T 4754-2017），任一层级，含其下级"
    if spec == "bool":
        return bool, ""
    if spec.startswith("multi:"):
        choices = model.MULTI_CHOICE_FIELDS[spec[6:]]
        return Literal[tuple(choices.values)], f"含该选项：{choice_description(choices.choices)}"
    field_name, _sep, lookup = spec.partition("__")
    f = model._meta.get_field(field_name.removesuffix("_id"))
    if f.is_relation:
        return int, f"{f.verbose_name} ID"
    description = {"gte": "不小于", "lte": "不大于"}.get(lookup, "")
    if f.choices and not lookup:
        return Literal[tuple(v for v, _label in f.choices)], choice_description(f.choices)
    return _scalar_type(f, {}), f"{f.verbose_name}{description}" if description else ""


# ``?status=&page=1`` (an empty form field) means "no filter", not an invalid value.
EMPTY_IS_NONE = BeforeValidator(lambda value: None if value == "" else value)


def _list_params_schema(kind: RegistryKind):
    orderings = [o for name in kind.orderings for o in (name, f"-{name}")]
    definitions = {
        "q": (
            str,
            Field(
                "",
                max_length=200,
                title="关键词",
                description="空格分隔，每个词都须出现在"
                + "、".join(str(kind.model._meta.get_field(n).verbose_name) for n in kind.search_fields)
                + "之一",
            ),
        ),
        "ordering": (
            Annotated[Literal[tuple(orderings)] | None, EMPTY_IS_NONE],
            Field(None, title="排序", description=f"字段名，前加 - 为倒序；默认 {kind.default_ordering}"),
        ),
        "page": (int, Field(1, ge=1, title="页码")),
        "page_size": (int, Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, title="每页条数")),
    }
    for name, spec in kind.filters.items():
        annotation, description = _filter_annotation(kind, spec)
        definitions[name] = (Annotated[annotation | None, EMPTY_IS_NONE], Field(None, description=description))
    return create_model(f"{kind.model.__name__}ListParams", __base__=Schema, **definitions)


# ---------------------------------------------------------------------------------------------------------------
# The router


@dataclass
class RecordShape:
    out_fields: list[OutField]

    def data(self, obj, *, user, editable: bool) -> dict:
        contacts = access.contact_fields_for(user, obj, editable=editable)
        return {f.name: f.read(obj, contacts) for f in self.out_fields}


def editable_ids(model, user, objs) -> set:
    """Which of ``objs`` ``user`` may edit, in one query (none for the anonymous public)."""
    if user is None or not objs:
        return set()
    return set(model.objects.filter(pk__in=[o.pk for o in objs]).editable_by(user).values_list("pk", flat=True))


def registry_router(kind: RegistryKind, *, json_types: dict | None = None) -> Router:
    """List, detail, create, update, workflow actions and timeline for one registry kind."""
    model = kind.model
    json_types = json_types or {}
    label = kind.label
    prefix = model.__name__
    shape = RecordShape(_out_fields(model, json_types))
    in_fields = _in_fields(model, json_types)
    in_by_name = {f.name: f for f in in_fields}

    Item = create_model(f"{prefix}Out", __base__=Schema, **{f.name: (f.annotation, ...) for f in shape.out_fields})
    Detail = create_model(
        f"{prefix}Detail",
        __base__=Item,
        review_comment=(str, Field(title="审核意见")),
        actions=(
            list[enum_str(WorkflowAction.values)],
            Field(title="当前可执行的操作", description=choice_description(WorkflowAction.choices)),
        ),
    )
    Page = create_model(
        f"{prefix}Page",
        __base__=Schema,
        count=(int, Field(title="总条数")),
        page=(int, Field(title="页码")),
        page_size=(int, Field(title="每页条数")),
        results=(list[Item], Field(title="本页记录")),
    )
    Create = _input_schema(f"{prefix}Create", in_fields, partial=False)
    Update = _input_schema(f"{prefix}Update", in_fields, partial=True)
    ListParams = _list_params_schema(kind)

    def detail_data(obj, user) -> dict:
        editable = access.may_edit(user, obj)
        data = shape.data(obj, user=user, editable=editable)
        data["review_comment"] = obj.review_comment
        data["actions"] = services.actions_for(user, obj, is_editor=editable)
        return data

    router = Router(tags=[label])

    @router.get(
        "",
        response={200: Page, **READ_ERRORS},
        auth=READ_AUTH,
        operation_id=f"{kind.slug}_list",
        url_name=f"{kind.slug}-list",
        summary=f"{label}列表",
        description=f"当前用户可见的{label}（匿名用户只看到已发布的），可筛选、搜索、排序和分页。",
    )
    def list_records(request, params: Query[ListParams]):
        user = api_user(request)
        values = params.model_dump()
        page, page_size = values.pop("page"), values.pop("page_size")
        q, ordering = values.pop("q"), values.pop("ordering") or ""
        records = record_list(kind=kind, user=user, filters=values, q=q, ordering=ordering)
        count = records.count()
        items = page_rows(records, (page - 1) * page_size, page * page_size) if count else []
        editable = editable_ids(model, user, items)
        return {
            "count": count,
            "page": page,
            "page_size": page_size,
            "results": [shape.data(o, user=user, editable=o.pk in editable) for o in items],
        }

    @router.get(
        "/{id}",
        response={200: Detail, **READ_ERRORS},
        auth=READ_AUTH,
        operation_id=f"{kind.slug}_detail",
        url_name=f"{kind.slug}-detail",
        summary=f"{label}详情",
        description="不可见与不存在都返回 404。`actions` 是当前用户此刻可执行的流程操作。",
    )
    def get_record(request, id: int):
        user = api_user(request)
        obj = access.get_object_for(user, model.objects.select_related(*kind.select_related), id)
        return detail_data(obj, user)

    @router.post(
        "",
        response={201: Detail, **ERROR_RESPONSES},
        auth=WRITE_AUTH,
        operation_id=f"{kind.slug}_create",
        url_name=f"{kind.slug}-create",
        summary=f"新建{label}",
        description="新建的记录是草稿；未填区域时取所属单位的区域。",
    )
    def create_record(request, payload: Create):
        user = api_user(request)
        fields = service_fields(in_by_name, payload.model_dump(exclude_unset=True))
        obj = services.record_create(model=model, actor=user, fields=fields, request=request)
        return Status(201, detail_data(obj, user))

    @router.patch(
        "/{id}",
        response={200: Detail, **ERROR_RESPONSES},
        auth=WRITE_AUTH,
        operation_id=f"{kind.slug}_update",
        url_name=f"{kind.slug}-update",
        summary=f"修改{label}",
        description="只改请求中给出的字段；草稿、已退回和已撤回的记录才能修改。",
    )
    def update_record(request, id: int, payload: Update):
        user = api_user(request)
        obj = access.get_object_for(user, model, id)
        fields = service_fields(in_by_name, payload.model_dump(exclude_unset=True))
        obj = services.record_update(obj=obj, actor=user, fields=fields, request=request)
        return detail_data(obj, user)

    @router.post(
        "/{id}/actions/{action}",
        response={200: Detail, **ERROR_RESPONSES},
        auth=WRITE_AUTH,
        operation_id=f"{kind.slug}_action",
        url_name=f"{kind.slug}-action",
        summary=f"{label}流程操作",
        description="submit 提交审核、approve 审核通过、return 退回修改（须填意见）、publish 发布、withdraw 撤回。",
    )
    def act_on_record(
        request,
        id: int,
        action: Path[Literal[tuple(WorkflowAction.values)]],
        payload: ActionIn | None = None,
    ):
        user = api_user(request)
        obj = access.get_object_for(user, model, id)
        comment = payload.comment if payload is not None else ""
        obj = services.record_transition(obj=obj, actor=user, action=action, comment=comment, request=request)
        return detail_data(obj, user)

    @router.get(
        "/{id}/events",
        response={200: list[EventOut], **READ_ERRORS},
        auth=READ_AUTH,
        operation_id=f"{kind.slug}_events",
        url_name=f"{kind.slug}-events",
        summary=f"{label}时间线",
        description="记录的创建、修改和每一次状态变更，按时间先后。",
    )
    def record_events(request, id: int):
        obj = access.get_object_for(api_user(request), model, id)
        return [event_data(e) for e in event_timeline(target=obj)]

    return router


def event_data(event) -> dict:
    actor = event.actor if event.actor_id else None
    return {
        "id": event.pk,
        "at": local(event.at),
        "action": event.action,
        "action_label": str(event.get_action_display()),
        "actor": (str(actor) if actor is not None else event.actor_name) or _("系统"),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "comment": event.comment,
        "summary": event.summary,
        "changed_fields": sorted(event.changes) if isinstance(event.changes, dict) else [],
    }


# ---------------------------------------------------------------------------------------------------------------
# Industry codes (GB/T 4754-2017)


class IndustryOut(Schema):
    code: str = Field(title="代码")
    name: str = Field(title="名称")
    level: int = Field(title="层级", description="1 门类、2 大类、3 中类、4 小类")
    parent: str | None = Field(title="上级代码")
    has_children: bool = Field(title="有下级")


industries_router = Router(tags=["代码表"])


@industries_router.get(
    "",
    response={200: list[IndustryOut], **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="industries_list",
    url_name="industries-list",
    summary="国民经济行业分类",
    description="GB/T 4754-2017。不带 parent 时返回 20 个门类；带 parent 时返回它的直接下级。",
)
def industries(request, parent: Annotated[str | None, Field(max_length=4, title="上级代码")] = None):
    codes = IndustryCode.objects.filter(parent_id=parent) if parent else IndustryCode.objects.filter(parent=None)
    if parent and not IndustryCode.objects.filter(pk=parent).exists():
        raise Http404(_("没有这个行业代码：%(c)s") % {"c": parent})
    codes = codes.annotate(has_children=Exists(IndustryCode.objects.filter(parent=OuterRef("pk")))).order_by("code")
    return [
        {"code": c.code, "name": c.name, "level": c.level, "parent": c.parent_id, "has_children": c.has_children}
        for c in codes
    ]
