"""``/api/v1/matching``: recommendations, free-text search and the matchmaking funnel.

Handlers parse input, call one selector or service and shape the output. Results only hold records that
are published and visible to the caller; a demand, achievement or match one may not see is a 404.
"""

from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema, Status

from techtransfer.accounts.api_auth import READ_AUTH, WRITE_AUTH, api_user
from techtransfer.core.access import AccessDenied, get_object_for
from techtransfer.core.api import EMPTY_IS_NONE, ERROR_RESPONSES, READ_ERRORS, choice_description, local
from techtransfer.core.choices import CooperationMode, HighTechField
from techtransfer.core.registry import KINDS

from . import access, selectors, services
from .models import Match

router = Router(tags=["精准对接"])


class ResultOut(Schema):
    kind: str = Field(title="类别", description="achievements / demands / experts / instruments")
    id: int
    title: str = Field(title="名称")
    score: float = Field(
        title="匹配度",
        description="文本得分加结构化加分：领域 0.05、行业 0.05、区域 0.03、转化方式 0.02、报价在预算内 0.02、"
        "技术就绪 0.02（查找时只有文本得分）",
    )
    text_score: float = Field(title="文本得分", description="关键词与语义检索的融合得分（0–1）")
    shared_terms: list[str] = Field(title="共同词语")
    same_fields: list[str] = Field(title="相同的高新技术领域")
    same_industry: str = Field("", title="相同行业", description="需求与成果同属的国民经济行业大类名称")
    same_region: str = Field(title="相同区域", description="双方在同一区域（或上下级区域）时为区域名称")
    shared_modes: list[str] = Field([], title="相符的转化方式", description="成果提供、需求接受的转化（合作）方式")
    price_in_budget: bool | None = Field(
        None, title="报价在预算内", description="成果意向价格不高于需求预算为 true，高于为 false；任一未填为 null"
    )
    readiness_level: int | None = Field(
        None,
        title="技术就绪度",
        description="为需求推荐成果时，成果达到可用的就绪度（TRL ≥ 7；需求接受合作开发时 TRL ≥ 4）则为其 TRL",
    )
    explanation: str = Field(title="推荐理由")


class ResultsOut(Schema):
    results: list[ResultOut]


class SearchOut(Schema):
    mode: Literal["hybrid", "lexical"] = Field(
        title="检索方式", description="hybrid：关键词与语义（e5）融合；lexical：仅关键词"
    )
    results: list[ResultOut]


class RecommendParams(Schema):
    limit: int = Field(10, ge=1, le=50, title="条数")


class SearchParams(Schema):
    q: str = Field(..., min_length=1, max_length=2000, title="查询文字")
    kind: Literal["achievements", "demands", "experts", "instruments"] | None = Field(None, title="类别")
    limit: int = Field(20, ge=1, le=100, title="条数")
    semantic: bool = Field(
        True, title="语义检索", description="true：可用时结合语义向量（新的查询须先计算向量）；false：仅关键词"
    )
    region: Annotated[str | None, EMPTY_IS_NONE] = Field(
        None, max_length=20, title="区域", description="区域代码，含其下级区域（如 340600 淮北市、340603 相山区）"
    )
    field: Annotated[Literal[tuple(HighTechField.values)] | None, EMPTY_IS_NONE] = Field(
        None, title="技术领域", description=f"高新技术领域：{choice_description(HighTechField.choices)}"
    )
    readiness_min: Annotated[int | None, EMPTY_IS_NONE] = Field(
        None, ge=1, le=9, title="技术就绪度不低于", description="只查找技术就绪度（TRL）不低于该值的科技成果"
    )
    transfer_mode: Annotated[Literal[tuple(CooperationMode.values)] | None, EMPTY_IS_NONE] = Field(
        None,
        title="转化/合作方式",
        description=f"成果的转化方式或需求的合作方式含该选项：{choice_description(CooperationMode.choices)}",
    )


def _results(results) -> dict:
    return {"results": [r.as_dict() for r in results]}


def _recommend(request, source: str, id: int, target: str, limit: int):
    user = api_user(request)
    obj = get_object_for(user, KINDS[source].model, id)
    return _results(selectors.recommendations_for(obj=obj, user=user, target=target, k=limit)[target])


def _demand_route(target: str):
    def handler(request, id: int, params: Query[RecommendParams]):
        return _recommend(request, "demands", id, target, params.limit)

    handler.__name__ = f"demand_{target}"
    router.get(
        f"/demands/{{id}}/{target}",
        response={200: ResultsOut, **READ_ERRORS},
        auth=READ_AUTH,
        operation_id=f"matching_demand_{target}",
        summary=f"为需求推荐{KINDS[target].label}",
    )(handler)


for _kind in ("achievements", "experts", "instruments"):
    _demand_route(_kind)


@router.get(
    "/achievements/{id}/demands",
    response={200: ResultsOut, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="matching_achievement_demands",
    summary="为科技成果推荐技术需求",
)
def achievement_demands(request, id: int, params: Query[RecommendParams]):
    return _recommend(request, "achievements", id, "demands", params.limit)


class DemandRefOut(Schema):
    id: int
    title: str = Field(title="需求名称")


class EnterpriseResultOut(Schema):
    kind: str = Field(title="类别", description="organizations")
    id: int = Field(title="单位编号")
    title: str = Field(title="企业名称")
    score: float = Field(
        title="匹配度",
        description="0.6 × 最相关需求得分 + 0.4 × 简介得分 + 行业 0.05 + 领域 0.05 + 区域 0.03",
    )
    demand: DemandRefOut | None = Field(title="最相关的已发布需求")
    demand_score: float = Field(title="需求得分", description="该需求的检索融合得分（0–1）")
    profile_score: float = Field(
        title="简介得分", description="成果最具区分度的词语在企业名称和简介中出现的比例（按 IDF 加权，0–1）"
    )
    shared_terms: list[str] = Field(
        title="共同词语", description="成果与该需求共有的专门词语，以及与企业简介共有的词语"
    )
    same_industry: str = Field(title="相同行业", description="企业已发布需求与成果同属的国民经济行业大类")
    same_fields: list[str] = Field(title="相同的高新技术领域")
    same_region: str = Field(title="相同区域")
    explanation: str = Field(title="推荐理由")


class EnterpriseResultsOut(Schema):
    results: list[EnterpriseResultOut]


@router.get(
    "/achievements/{id}/enterprises",
    response={200: EnterpriseResultsOut, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="matching_achievement_enterprises",
    summary="为科技成果推荐可能需要它的企业",
)
def achievement_enterprises(request, id: int, params: Query[RecommendParams]):
    return _recommend(request, "achievements", id, selectors.ENTERPRISES, params.limit)


@router.get(
    "/search",
    response={200: SearchOut, **READ_ERRORS},
    auth=READ_AUTH,
    operation_id="matching_search",
    summary="跨类别全文查找（成果、需求、专家、仪器）",
    description="可按区域、技术领域、技术就绪度、转化/合作方式筛选；mode 说明本次是否用到了语义检索。",
)
def search(request, params: Query[SearchParams]):
    kinds = [params.kind] if params.kind else None
    filters = selectors.SearchFilters(
        region=params.region or "",
        field=params.field or "",
        readiness_min=params.readiness_min,
        transfer_mode=params.transfer_mode or "",
    )
    outcome = selectors.search_outcome(
        q=params.q,
        user=api_user(request),
        kinds=kinds,
        k=params.limit,
        filters=filters,
        semantic="embed" if params.semantic else "off",
    )
    return {"mode": outcome.mode, **_results(outcome.results)}


# ----------------------------------------------------------------------------------------------------- funnel
class MatchIn(Schema):
    demand: int = Field(title="需求编号")
    kind: Literal["achievements", "experts", "instruments"] = Field(title="对接对象类别")
    counterpart: int = Field(title="对接对象编号")
    notes: str = Field("", max_length=2000, title="备注")
    score: float | None = Field(None, title="推荐得分")


class AdvanceIn(Schema):
    stage: Literal["contacted", "negotiating", "signed", "dropped"] = Field(title="新阶段")
    note: str = Field("", max_length=2000, title="说明")


class MatchEventOut(Schema):
    actor: str | None
    from_stage: str
    to_stage: str
    note: str
    at: str


class MatchOut(Schema):
    id: int
    demand: int
    kind: str
    counterpart: int
    counterpart_title: str
    stage: str
    stage_label: str
    notes: str
    driven_by: str
    region: str | None
    score: float | None
    events: list[MatchEventOut]


def match_data(match: Match, *, with_events: bool = True) -> dict:
    events = selectors.match_events(match) if with_events else []
    return {
        "id": match.pk,
        "demand": match.demand_id,
        "kind": str(match.counterpart_kind),
        "counterpart": match.counterpart.pk,
        "counterpart_title": str(match.counterpart),
        "stage": match.stage,
        "stage_label": str(match.get_stage_display()),
        "notes": match.notes,
        "driven_by": str(match.driven_by),
        "region": match.region.name if match.region_id else None,
        "score": match.score,
        "events": [
            {
                "actor": str(e.actor) if e.actor_id else None,
                "from_stage": e.from_stage,
                "to_stage": e.to_stage,
                "note": e.note,
                "at": local(e.created_at).isoformat(),
            }
            for e in events
        ],
    }


class MatchListOut(Schema):
    results: list[MatchOut]


class StageOut(Schema):
    stage: str
    label: str
    current: int = Field(title="当前处于该阶段")
    reached: int = Field(title="累计到达该阶段")
    conversion: float | None = Field(title="较上一阶段的转化率")


class FunnelOut(Schema):
    total: int
    signed: int
    dropped: int
    signed_rate: float | None
    stages: list[StageOut]


class FunnelGroupOut(FunnelOut):
    id: int | None
    name: str


class FunnelStatsOut(Schema):
    overall: FunnelOut
    by_scout: list[FunnelGroupOut]
    by_region: list[FunnelGroupOut]


@router.get(
    "/matches",
    response={200: MatchListOut, **READ_ERRORS},
    auth=WRITE_AUTH,
    operation_id="matching_match_list",
    summary="对接记录（最近 100 条）",
)
def match_list(request, stage: str = ""):
    found = selectors.match_list(user=api_user(request), stage=stage)[:100]
    return {"results": [match_data(m, with_events=False) for m in found]}


@router.post(
    "/matches",
    response={201: MatchOut, **ERROR_RESPONSES},
    auth=WRITE_AUTH,
    operation_id="matching_match_create",
    summary="登记对接（已推荐）",
)
def match_create(request, payload: MatchIn):
    # The service reads both records under the caller's access (a 404 if hidden); pass references only.
    match = services.match_create(
        actor=api_user(request),
        demand=KINDS["demands"].model(pk=payload.demand),
        counterpart=KINDS[payload.kind].model(pk=payload.counterpart),
        notes=payload.notes,
        score=payload.score,
        request=request,
    )
    return Status(201, match_data(match))


@router.get(
    "/matches/{id}",
    response={200: MatchOut, **READ_ERRORS},
    auth=WRITE_AUTH,
    operation_id="matching_match_get",
    summary="对接详情与记录",
)
def match_get(request, id: int):
    return match_data(get_object_for(api_user(request), Match.objects.select_related(*selectors.MATCH_RELATED), id))


@router.post(
    "/matches/{id}/advance",
    response={200: MatchOut, **ERROR_RESPONSES},
    auth=WRITE_AUTH,
    operation_id="matching_match_advance",
    summary="推进或终止对接",
)
def match_advance(request, id: int, payload: AdvanceIn):
    match = services.match_advance(
        actor=api_user(request), match=Match(pk=id), to_stage=payload.stage, note=payload.note, request=request
    )
    return match_data(match)


@router.get(
    "/funnel",
    response={200: FunnelStatsOut, **ERROR_RESPONSES},
    auth=WRITE_AUTH,
    operation_id="matching_funnel",
    summary="对接漏斗：各阶段、各负责人、各区域的数量与转化率",
)
def funnel(request):
    user = api_user(request)
    if not access.can_read_funnel(user):
        raise AccessDenied()
    return selectors.funnel_stats(user=user)
