"""``/api/v1/suggest``: the discipline and technology field suggested for a text (the forms' 智能推荐).

Classifying costs CPU, so only signed-in callers who may create records ask (``selectors.may_create_records``,
the rule of the create pages); anonymous calls answer 401, others 403.
"""

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from techtransfer.accounts.api_auth import WRITE_AUTH, api_user
from techtransfer.core.access import AccessDenied
from techtransfer.core.api import ErrorOut, enum_str
from techtransfer.core.choices import HighTechField
from techtransfer.core.errors import ErrorCode, ServiceError

from . import selectors, suggestions

router = Router(tags=["智能推荐"])

MODEL_MISSING = "model_missing"


class FieldSuggestIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        ...,
        max_length=suggestions.MAX_TEXT_CHARS,
        title="文本",
        description=f"记录的名称与简介等：至少 {suggestions.MIN_TEXT_CHARS} 个字，"
        f"至多 {suggestions.MAX_TEXT_CHARS} 个字符",
    )
    k: int = Field(suggestions.DEFAULT_K, ge=1, le=10, title="每类推荐条数")


class SuggestedDiscipline(Schema):
    label: str = Field(title="学科")
    probability: float = Field(title="概率", description="0–1")


class SuggestedField(Schema):
    label: str = Field(title="技术领域", description="技术市场的 11 个技术领域之一")
    probability: float = Field(title="概率", description="0–1")
    high_tech_field: (
        enum_str(HighTechField.values, title="对应的高新技术领域", description="无对应领域时为 null") | None
    )


class FieldSuggestOut(Schema):
    discipline: list[SuggestedDiscipline]
    field: list[SuggestedField]


@router.post(
    "/fields",
    response={200: FieldSuggestOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 503: ErrorOut},
    auth=WRITE_AUTH,
    operation_id="suggest_fields",
    summary="根据文本推荐学科和技术领域",
    description="返回最可能的 k 个学科和 k 个技术领域及其概率；技术领域附对应的高新技术领域（无对应时为 null）。"
    "须登录且有权登记记录；文字不足 10 个字返回 400，推荐模型缺失返回 503。",
)
def suggest_fields(request, payload: FieldSuggestIn):
    if not selectors.may_create_records(api_user(request)):
        raise AccessDenied(_("您还不属于任何单位，不能使用智能推荐"))
    if suggestions.is_too_short(payload.text):
        raise ServiceError(ErrorCode.INVALID, details={"text": [suggestions.too_short_message()]})
    try:
        result = suggestions.suggest_fields(payload.text, k=payload.k)
    except suggestions.ModelMissing:
        return Status(503, {"code": MODEL_MISSING, "message": suggestions.model_missing_message(), "details": {}})
    return {
        "discipline": [{"label": s.label, "probability": s.probability} for s in result.disciplines],
        "field": [
            {"label": s.label, "probability": s.probability, "high_tech_field": s.value or None} for s in result.fields
        ],
    }
