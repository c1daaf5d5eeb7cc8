"""The REST API root: ``/api/v1/``. Each app contributes a router from its ``api.py``.

Every error answers ``{"code", "message", "details"}`` with a Chinese message:
400 invalid input or a refused service call, 401 no or bad credentials, 403 a write the user may
not make on an object they can see, 404 missing *or* invisible.
"""

from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from techtransfer.accounts.api_auth import WRITE_AUTH, CsrfFailed, InvalidToken
from techtransfer.achievements.api import JSON_FIELD_TYPES as ACHIEVEMENT_JSON_TYPES
from techtransfer.core.access import AccessDenied
from techtransfer.core.api import industries_router, registry_router
from techtransfer.core.errors import ErrorCode, ServiceError
from techtransfer.core.registry import KINDS
from techtransfer.matchmaking.api import router as matching_router
from techtransfer.organizations.api import router as organizations_router
from techtransfer.policies.api import router as policies_router
from techtransfer.portal.api import router as suggest_router
from techtransfer.regions.api import router as regions_router


class ApiErrorCode(models.TextChoices):
    """Error codes of the HTTP layer; the services' own codes are ``core.errors.ErrorCode``."""

    UNAUTHENTICATED = "unauthenticated", gettext_lazy("请先登录，或在 Authorization 头中提供 API 令牌")
    INVALID_TOKEN = "invalid_token", gettext_lazy("API 令牌无效、已吊销或已过期")
    CSRF_FAILED = "csrf_failed", gettext_lazy("CSRF 校验失败")
    BAD_REQUEST = "bad_request", gettext_lazy("请求格式不正确")
    METHOD_NOT_ALLOWED = "method_not_allowed", gettext_lazy("不支持此请求方法")
    THROTTLED = "throttled", gettext_lazy("请求过于频繁，请稍后再试")


DESCRIPTION = """科技成果转移转化一站式服务平台的 REST 接口。

**认证**：请求头 `Authorization: Bearer tt_…`（令牌由管理员用 `techtransfer token create` 签发），
或浏览器中已登录的会话（写操作须带 `X-CSRFToken` 头）。匿名用户可以读取已发布的信息；
任何写操作都须认证，否则返回 401。

**权限**：与门户页面相同。看不到的记录与不存在的记录一样返回 404；看得到但无权修改返回 403。
无编辑权限时，联系电话和邮箱打码显示。

**错误**：统一为 `{"code", "message", "details"}`，`details` 按字段列出中文说明。
"""


class TechTransferAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Reads work without credentials too: OpenAPI says so with an empty security requirement."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            read = operations.get("get")
            if read is not None and read.get("security") and {} not in read["security"]:
                read["security"].append({})
        return schema


api = TechTransferAPI(
    title="科技成果转移转化平台 API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=Swagger(settings={"validatorUrl": None, "docExpansion": "list", "defaultModelsExpandDepth": 0}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=WRITE_AUTH,
)

REGISTRY_JSON_TYPES = {"achievements": ACHIEVEMENT_JSON_TYPES}

for _kind in KINDS.values():
    api.add_router(f"/{_kind.slug}", registry_router(_kind, json_types=REGISTRY_JSON_TYPES.get(_kind.slug)))
api.add_router("/organizations", organizations_router)
api.add_router("/regions", regions_router)
api.add_router("/industries", industries_router)
api.add_router("/policies", policies_router)
api.add_router("/matching", matching_router)
api.add_router("/suggest", suggest_router)


# ---------------------------------------------------------------------------------------------------------------
# Errors


def error(request, status: int, code: str, message: str, details: dict | None = None):
    return api.create_response(
        request, {"code": str(code), "message": str(message), "details": details or {}}, status=status
    )


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    return error(request, 400, exc.code, exc.message, exc.details)


@api.exception_handler(AccessDenied)
def on_access_denied(request, exc: AccessDenied):
    return error(request, 403, ErrorCode.FORBIDDEN, exc.message)


@api.exception_handler(Http404)
def on_not_found(request, exc: Http404):
    return error(request, 404, ErrorCode.NOT_FOUND, str(exc) if exc.args else _("未找到该对象"))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return error(request, 401, ApiErrorCode.UNAUTHENTICATED, ApiErrorCode.UNAUTHENTICATED.label)


@api.exception_handler(InvalidToken)
def on_invalid_token(request, exc):
    response = error(request, 401, ApiErrorCode.INVALID_TOKEN, str(exc))
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


@api.exception_handler(CsrfFailed)
def on_csrf_failed(request, exc):
    return error(request, 403, ApiErrorCode.CSRF_FAILED, str(exc))


HTTP_ERROR_CODES = {
    400: ApiErrorCode.BAD_REQUEST,
    401: ApiErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ApiErrorCode.METHOD_NOT_ALLOWED,
    429: ApiErrorCode.THROTTLED,
}


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    """Errors ninja raises itself (bad JSON, throttling …) carry English text: answer with ours."""
    code = HTTP_ERROR_CODES.get(exc.status_code, ApiErrorCode.BAD_REQUEST)
    message = code.label
    if exc.status_code == 400:
        message = _("请求格式不正确：请求体应为合法的 JSON")
    return error(request, exc.status_code, code, message)


# pydantic error type → Chinese message (``ctx`` values are filled in), worded like Django's own.
VALIDATION_MESSAGES = {
    "missing": gettext_lazy("这个字段是必填项。"),
    "extra_forbidden": gettext_lazy("不认识的字段。"),
    "string_type": gettext_lazy("应为文字。"),
    "string_too_long": gettext_lazy("确保该值不超过 %(max_length)s 个字符。"),
    "string_too_short": gettext_lazy("确保该值至少有 %(min_length)s 个字符。"),
    "int_type": gettext_lazy("应为整数。"),
    "int_parsing": gettext_lazy("应为整数。"),
    "int_from_float": gettext_lazy("应为整数。"),
    "float_parsing": gettext_lazy("应为数字。"),
    "decimal_parsing": gettext_lazy("应为数字。"),
    "decimal_type": gettext_lazy("应为数字。"),
    "finite_number": gettext_lazy("应为有限的数字。"),
    "bool_type": gettext_lazy("应为 true 或 false。"),
    "bool_parsing": gettext_lazy("应为 true 或 false。"),
    "date_type": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "date_parsing": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "date_from_datetime_parsing": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "date_from_datetime_inexact": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "datetime_type": gettext_lazy("时间格式应为 ISO 8601，如 2025-01-31T09:00:00+08:00。"),
    "datetime_parsing": gettext_lazy("时间格式应为 ISO 8601，如 2025-01-31T09:00:00+08:00。"),
    "datetime_from_date_parsing": gettext_lazy("时间格式应为 ISO 8601，如 2025-01-31T09:00:00+08:00。"),
    "list_type": gettext_lazy("应为列表。"),
    "dict_type": gettext_lazy("应为对象。"),
    "model_type": gettext_lazy("应为对象。"),
    "model_attributes_type": gettext_lazy("应为对象。"),
    "literal_error": gettext_lazy("不是可选的值；可选：%(expected)s。"),
    "enum": gettext_lazy("不是可选的值；可选：%(expected)s。"),
    "greater_than": gettext_lazy("确保该值大于%(gt)s。"),
    "greater_than_equal": gettext_lazy("确保该值大于或等于%(ge)s。"),
    "less_than": gettext_lazy("确保该值小于%(lt)s。"),
    "less_than_equal": gettext_lazy("确保该值小于或等于%(le)s。"),
    "json_invalid": gettext_lazy("不是合法的 JSON。"),
}
LOCATION_ROOTS = {"body", "query", "path", "header", "cookie", "form", "file"}


def validation_details(errors: list[dict]) -> dict[str, list[str]]:
    """ninja's list of pydantic errors → ``{"field": ["中文说明", …]}`` (nested fields as ``ip_items.0.number``)."""
    details: dict[str, list[str]] = {}
    for e in errors:
        loc = [str(part) for part in e.get("loc", ())]
        if loc and loc[0] in LOCATION_ROOTS:
            loc = loc[1:]
        whole_body = loc == ["payload"]
        if loc and loc[0] in {"payload", "params"}:
            loc = loc[1:]
        field = ".".join(loc) or "__all__"
        template = VALIDATION_MESSAGES.get(e.get("type"))
        if whole_body:
            template = gettext_lazy("请求体应为 JSON 对象。")
        if template is None:
            message = _("格式不正确。")
        else:
            ctx = {k: str(v) for k, v in (e.get("ctx") or {}).items()}
            try:
                message = str(template) % ctx if "%(" in str(template) else str(template)
            except KeyError:
                message = _("格式不正确。")
        details.setdefault(field, [])
        if message not in details[field]:
            details[field].append(message)
    return details


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    return error(request, 400, ErrorCode.INVALID, ErrorCode.INVALID.label, validation_details(exc.errors))
