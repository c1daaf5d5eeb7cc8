"""The API's own description: openapi.json lists every path, the docs page needs nothing from outside."""

import re

import pytest
from django.contrib.staticfiles import finders

from techtransfer.core.registry import KINDS

REGISTRY_PATHS = {
    "/api/v1/{slug}": {"get", "post"},
    "/api/v1/{slug}/{{id}}": {"get", "patch"},
    "/api/v1/{slug}/{{id}}/actions/{{action}}": {"post"},
    "/api/v1/{slug}/{{id}}/events": {"get"},
}
REFERENCE_PATHS = {
    "/api/v1/organizations": {"get"},
    "/api/v1/organizations/{id}": {"get"},
    "/api/v1/regions": {"get"},
    "/api/v1/industries": {"get"},
    "/api/v1/policies/evaluate": {"post"},
    "/api/v1/policies/entitlements": {"get"},
    "/api/v1/policies/applications": {"get", "post"},
    "/api/v1/policies/applications/{id}/submit": {"post"},
    "/api/v1/policies/applications/{id}/review": {"post"},
    "/api/v1/matching/demands/{id}/achievements": {"get"},
    "/api/v1/matching/demands/{id}/experts": {"get"},
    "/api/v1/matching/demands/{id}/instruments": {"get"},
    "/api/v1/matching/achievements/{id}/demands": {"get"},
    "/api/v1/matching/achievements/{id}/enterprises": {"get"},
    "/api/v1/matching/search": {"get"},
    "/api/v1/matching/matches": {"get", "post"},
    "/api/v1/matching/matches/{id}": {"get"},
    "/api/v1/matching/matches/{id}/advance": {"post"},
    "/api/v1/matching/funnel": {"get"},
    "/api/v1/suggest/fields": {"post"},
}


@pytest.fixture
def openapi(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_has_every_path_and_method(openapi):
    expected = dict(REFERENCE_PATHS)
    for slug in KINDS:
        expected.update({path.format(slug=slug): methods for path, methods in REGISTRY_PATHS.items()})

    assert {path: set(ops) for path, ops in openapi["paths"].items()} == expected
    assert len(expected) == 4 * 6 + 4 + 5 + 10 + 1  # registries, reference lists, policies, matching, suggestion


def test_openapi_is_described_in_chinese(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] == "科技成果转移转化平台 API"
    assert openapi["paths"]["/api/v1/achievements"]["get"]["summary"] == "科技成果列表"
    assert openapi["paths"]["/api/v1/demands/{id}"]["patch"]["summary"] == "修改技术需求"
    assert openapi["paths"]["/api/v1/pilotbases"]["post"]["tags"] == ["中试基地"]
    schema = openapi["components"]["schemas"]["AchievementCreate"]
    assert schema["required"] == ["title", "abstract"]
    assert schema["properties"]["title"]["title"] == "成果名称"
    assert schema["properties"]["transfer_modes"]["items"]["enum"] == [
        "transfer",
        "license",
        "equity",
        "co_development",
    ]
    assert "status" not in schema["properties"]
    assert "organization_id" not in openapi["components"]["schemas"]["DemandUpdate"]["properties"]


def test_openapi_lists_every_filter_as_a_query_parameter(openapi):
    for slug, kind in KINDS.items():
        params = {p["name"] for p in openapi["paths"][f"/api/v1/{slug}"]["get"]["parameters"]}
        assert params == {"q", "ordering", "page", "page_size", *kind.filters}, slug


def test_openapi_security(openapi):
    assert openapi["components"]["securitySchemes"] == {
        "TokenAuth": {"type": "http", "scheme": "bearer"},
        "BrowserSessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    assert openapi["paths"]["/api/v1/demands"]["post"]["security"] == [{"TokenAuth": []}, {"BrowserSessionAuth": []}]
    # reads work anonymously too: the empty requirement says so
    assert openapi["paths"]["/api/v1/demands"]["get"]["security"] == [
        {"TokenAuth": []},
        {"BrowserSessionAuth": []},
        {},
    ]


def test_docs_page_loads_nothing_from_another_host(client, db):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert '<html lang="zh-Hans">' in html
    assert "<title>科技成果转移转化平台 API</title>" in html
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "/static/ninja/swagger-ui.css",
        "/static/ninja/favicon.svg",
        "/static/ninja/favicon.png",
        "/static/ninja/swagger-ui-bundle.js",
        "/static/ninja/swagger-ui-init.js",
    ]
    for asset in ["swagger-ui.css", "favicon.svg", "favicon.png", "swagger-ui-bundle.js", "swagger-ui-init.js"]:
        assert finders.find(f"ninja/{asset}"), asset


def test_docs_page_obeys_the_strict_csp(client, db):
    response = client.get("/api/v1/docs")
    html = response.content.decode()

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    # every script is a file, except the JSON settings block, which a browser never executes
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts == [
        ' type="application/json" id="swagger-settings"',
        ' src="/static/ninja/swagger-ui-bundle.js"',
        ' src="/static/ninja/swagger-ui-init.js"',
    ]
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert '"validatorUrl": null' in html  # no badge image fetched from validator.swagger.io


def test_industries_top_level_and_children(client, db):
    top = client.get("/api/v1/industries").json()
    children = client.get("/api/v1/industries?parent=384").json()
    leaves = client.get("/api/v1/industries?parent=3841").json()

    assert len(top) == 20
    assert top[0] == {"code": "A", "name": "农、林、牧、渔业", "level": 1, "parent": None, "has_children": True}
    assert [c["code"] for c in top] == list("ABCDEFGHIJKLMNOPQRST")
    assert {"code": "3841", "name": "锂离子电池制造", "level": 4, "parent": "384", "has_children": False} in children
    assert leaves == []


def test_unknown_industry_is_404(client, db):
    response = client.get("/api/v1/industries?parent=ZZ")
    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "message": "没有这个行业代码：ZZ", "details": {}},
    )
