"""``/api/v1/policies``: the policy calculator (anonymous allowed), entitlements and applications.

Handlers parse input, call one selector or service and shape the output; access is decided in
``policies.access`` and the services (an entitlement or application one may not see is a 404).
"""

import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from techtransfer.accounts.api_auth import READ_AUTH, WRITE_AUTH, api_user
from techtransfer.core import access as core_access
from techtransfer.core.api import DEFAULT_PAGE_SIZE, ERROR_RESPONSES, MAX_PAGE_SIZE, READ_ERRORS
from techtransfer.core.errors import ServiceError
from techtransfer.organizations.models import Organization
from techtransfer.policy import RuleError

from . import selectors, services
from .choices import PolicyErrorCode
from .models import Application, Notice

router = Router(tags=["政策兑现"])


class EvaluateIn(Schema):
    clause: str | None = Field(None, max_length=80, title="条款编号", description="如 huaibei.tech_service_subsidy")
    policy: str | None = Field(None, max_length=80, title="政策编号", description="评价该政策在申请日生效的全部条款")
    facts: dict[str, Any] = Field(default_factory=dict, title="事实", description="事实名称 → 取值；缺少的事实不填")
    period: int = Field(title="评价年度", description="事实所属的年度，如 2024")
    applied_on: datetime.date = Field(title="申请日期", description="按这一天生效的规则和参数评价")


class ResultOut(Schema):
    clause: str = Field(title="条款编号")
    status: str = Field(
        title="结果", description="eligible 符合；not_eligible 不符合；missing 缺少事实；undefined 无法判定"
    )
    status_label: str = Field(title="结果（中文）")
    amount: Decimal | None = Field(title="金额（元）")
    outputs: dict[str, Decimal | None] = Field(title="分项金额（元）")
    missing: list[str] = Field(title="缺少的事实")
    explanation: str = Field(title="说明")
    trace: dict[str, Any] = Field(
        title="评价过程", description="每个条件及其取值、每个参数及其生效日期和出处、规则版本"
    )


class EvaluateOut(Schema):
    results: list[ResultOut]


def result_data(result) -> dict:
    return {
        "clause": result.clause_id,
        "status": result.status.code,
        "status_label": result.status.label,
        "amount": result.amount,
        "outputs": result.outputs,
        "missing": result.missing,
        "explanation": result.explain(),
        "trace": result.trace,
    }


@router.post(
    "/evaluate",
    response={200: EvaluateOut, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="policies_evaluate",
    url_name="policies-evaluate",
    summary="按事实评价条款或政策（计算器，无需登录）",
)
def evaluate(request, payload: EvaluateIn):
    if bool(payload.clause) == bool(payload.policy):
        raise ServiceError(PolicyErrorCode.INVALID, "请在 clause 和 policy 中指定且只指定一个")
    try:
        results = selectors.evaluate_facts(
            clause_id=payload.clause,
            policy_id=payload.policy,
            facts=payload.facts,
            period=payload.period,
            applied_on=payload.applied_on,
        )
    except RuleError as exc:
        raise ServiceError(PolicyErrorCode.RULE_INVALID, exc.message, exc.details) from exc
    return {"results": [result_data(r) for r in results]}


class EntitlementOut(Schema):
    id: int
    organization: str = Field(title="单位")
    organization_id: int
    clause: str = Field(title="条款编号")
    clause_title: str = Field(title="条款名称")
    track: str = Field(title="兑现方式")
    period: int = Field(title="评价年度")
    applied_on: datetime.date = Field(title="规则适用日期")
    result: str = Field(title="评价结果")
    status: str = Field(title="状态")
    status_label: str = Field(title="状态（中文）")
    amount: Decimal | None = Field(title="金额（元）")
    missing: list[str] = Field(title="缺少的事实")
    rule_version: dict[str, Any] = Field(title="规则版本")


class EntitlementPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[EntitlementOut]


class ListParams(Schema):
    period: int | None = Field(None, title="年度")
    status: str | None = Field(None, max_length=20, title="状态")
    page: int = Field(1, ge=1)
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def entitlement_data(e) -> dict:
    return {
        "id": e.pk,
        "organization": e.organization.name,
        "organization_id": e.organization_id,
        "clause": e.clause.clause_id,
        "clause_title": e.clause.title,
        "track": e.clause.track,
        "period": e.period,
        "applied_on": e.applied_on,
        "result": e.result,
        "status": e.status,
        "status_label": str(e.get_status_display()),
        "amount": e.amount,
        "missing": e.missing,
        "rule_version": e.rule_version,
    }


def _page(found, params, shape):
    count = found.count()
    start = (params.page - 1) * params.page_size
    items = list(found[start : start + params.page_size]) if count else []
    return {"count": count, "page": params.page, "page_size": params.page_size, "results": [shape(o) for o in items]}


@router.get(
    "/entitlements",
    response={200: EntitlementPage, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="policies_entitlements",
    url_name="policies-entitlements",
    summary="可享受的政策（本单位的；区域管理员看本区域的）",
)
def list_entitlements(request, params: Query[ListParams]):
    found = selectors.entitlement_list(user=api_user(request), period=params.period, status=params.status)
    return _page(found, params, entitlement_data)


class ApplicationOut(Schema):
    id: int
    organization: str
    organization_id: int
    notice_id: int
    notice: str = Field(title="申报通知")
    clause: str = Field(title="条款编号")
    period: int
    status: str
    status_label: str
    facts: dict[str, Any] = Field(title="申报数据")
    applied_on: datetime.date | None = Field(title="申请日期")
    result: str = Field(title="评价结果")
    amount: Decimal | None = Field(title="核定金额（元）")
    review_comment: str = Field(title="审核意见")
    rule_version: dict[str, Any] = Field(title="规则版本")


class ApplicationPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ApplicationOut]


def application_data(a) -> dict:
    return {
        "id": a.pk,
        "organization": a.organization.name,
        "organization_id": a.organization_id,
        "notice_id": a.notice_id,
        "notice": a.notice.title,
        "clause": a.clause.clause_id,
        "period": a.period,
        "status": a.status,
        "status_label": str(a.get_status_display()),
        "facts": a.facts,
        "applied_on": a.applied_on,
        "result": a.result,
        "amount": a.amount,
        "review_comment": a.review_comment,
        "rule_version": a.rule_version,
    }


@router.get(
    "/applications",
    response={200: ApplicationPage, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="policies_applications",
    url_name="policies-applications",
    summary="政策申报列表",
)
def list_applications(request, params: Query[ListParams]):
    found = selectors.application_list(user=api_user(request), period=params.period, status=params.status)
    return _page(found, params, application_data)


class ApplicationIn(Schema):
    notice: int = Field(title="申报通知 ID")
    organization: int = Field(title="申报单位 ID")
    facts: dict[str, Any] = Field(default_factory=dict, title="申报数据")


@router.post(
    "/applications",
    response={201: ApplicationOut, **ERROR_RESPONSES},
    auth=WRITE_AUTH,
    operation_id="policies_application_create",
    summary="新建申报（草稿）",
)
def create_application(request, payload: ApplicationIn):
    user = api_user(request)
    notice = core_access.get_object_for(user, Notice, payload.notice)
    organization = core_access.get_object_for(user, Organization, payload.organization)
    app = services.application_create(
        actor=user, notice=notice, organization=organization, facts=payload.facts, request=request
    )
    return Status(201, application_data(app))


class ReviewIn(Schema):
    decision: Literal["approve", "return"] = Field(title="审核决定", description="approve 批准；return 退回")
    comment: str = Field("", max_length=2000, title="审核意见")


@router.post(
    "/applications/{id}/submit",
    response={200: ApplicationOut, **ERROR_RESPONSES},
    auth=WRITE_AUTH,
    operation_id="policies_application_submit",
    summary="提交申报（截止日期后不能提交）",
)
def submit_application(request, id: int):
    user = api_user(request)
    app = core_access.get_object_for(user, Application, id)
    return application_data(services.application_submit(actor=user, application=app, request=request))


@router.post(
    "/applications/{id}/review",
    response={200: ApplicationOut, **ERROR_RESPONSES},
    auth=WRITE_AUTH,
    operation_id="policies_application_review",
    summary="审核申报：批准（保存评价过程和规则版本）或退回",
)
def review_application(request, id: int, payload: ReviewIn):
    user = api_user(request)
    app = core_access.get_object_for(user, Application, id)
    done = services.application_review(
        actor=user, application=app, decision=payload.decision, comment=payload.comment, request=request
    )
    return application_data(done)
