"""The registry REST API (``/api/v1/<slug>``): every role against every kind, lists, filters, masking, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from techtransfer.audit.models import Event
from techtransfer.audit.services import log_event
from techtransfer.core.registry import KINDS
from techtransfer.core.tests.factories import REGISTRY_FACTORIES, AchievementFactory, DemandFactory, region
from techtransfer.core.tests.test_access_and_workflow import DRAFT_EDITABLE, DRAFT_VISIBLE, EVERYONE, REVIEWERS

SLUG = {
    "achievement": "achievements",
    "demand": "demands",
    "expert": "experts",
    "commissioner": "commissioners",
    "instrument": "instruments",
    "pilotbase": "pilotbases",
}
KIND_NAMES = sorted(REGISTRY_FACTORIES)
# The smallest valid body of each kind.
NEW_RECORD = {
    "achievements": {"title": "煤矸石制备陶粒技术", "abstract": "以煤矸石为原料烧制轻质陶粒。"},
    "demands": {"title": "智慧矿井巡检机器人需求", "description": "井下皮带机巷道自动巡检。"},
    "experts": {"name": "王教授", "expertise": "矿山机器人"},
    "commissioners": {"name": "赵特派员", "expertise": "煤化工工艺"},
    "instruments": {"name": "X 射线衍射仪", "category": "analytical"},
    "pilotbases": {"name": "氢能燃料电池中试基地", "capabilities": "膜电极中试线"},
}
# Who may create a record for acme (相山区): its members, the region's and the platform's admins, scouts.
ACME_CREATORS = {"acme_admin", "acme_member", "xiangshan_admin", "platform_admin", "scout"}
UNAUTHENTICATED = {
    "code": "unauthenticated",
    "message": "请先登录，或在 Authorization 头中提供 API 令牌",
    "details": {},
}
NOT_FOUND = {"code": "not_found", "message": "未找到该对象", "details": {}}
FORBIDDEN = {"code": "forbidden", "message": "您没有执行此操作的权限", "details": {}}


def login(client, people, who):
    user = getattr(people, who)
    if user is not None:
        client.force_login(user)
    return client


def title_of(obj) -> str:
    return getattr(obj, KINDS[SLUG[obj._meta.model_name]].title_field)


# --- the anonymous public ------------------------------------------------------------------------------------


def test_anonymous_list_shows_only_published_achievements(people, client):
    shown = [
        AchievementFactory(organization=people.acme, status="published", title="陶铝活塞"),
        AchievementFactory(organization=people.rival, status="published", title="锂电隔膜"),
    ]
    for status in ["draft", "submitted", "returned", "approved", "withdrawn"]:
        AchievementFactory(organization=people.acme, status=status)

    response = client.get("/api/v1/achievements?ordering=title")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert (body["page"], body["page_size"]) == (1, 20)
    assert [(r["id"], r["title"], r["status"], r["status_label"]) for r in body["results"]] == [
        (shown[1].pk, "锂电隔膜", "published", "已发布"),  # titles sort by code point: 锂 U+9502 < 陶 U+9676
        (shown[0].pk, "陶铝活塞", "published", "已发布"),
    ]


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "/api/v1/demands", {"title": "新需求", "description": "d"}),
        ("patch", "/api/v1/demands/{pk}", {"title": "被匿名修改"}),
        ("post", "/api/v1/demands/{pk}/actions/withdraw", {"comment": ""}),
    ],
)
def test_anonymous_writes_answer_401_and_write_nothing(people, client, method, path, body):
    demand = DemandFactory(organization=people.acme, status="published", title="原标题")
    events = Event.objects.count()

    response = getattr(client, method)(path.format(pk=demand.pk), body, content_type="application/json")

    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    demand.refresh_from_db()
    assert (demand.title, demand.status) == ("原标题", "published")
    assert type(demand).objects.count() == 1
    assert Event.objects.count() == events


def test_rival_member_cannot_read_or_change_acme_draft_demand(people, client):
    demand = DemandFactory(organization=people.acme, title="原标题")
    login(client, people, "rival_member")
    events = Event.objects.count()

    assert client.get(f"/api/v1/demands/{demand.pk}").json() == NOT_FOUND
    assert client.get(f"/api/v1/demands/{demand.pk}").status_code == 404
    assert client.get(f"/api/v1/demands/{demand.pk}/events").status_code == 404
    assert client.get("/api/v1/demands").json()["count"] == 0
    patch = client.patch(f"/api/v1/demands/{demand.pk}", {"title": "被篡改"}, content_type="application/json")
    submit = client.post(f"/api/v1/demands/{demand.pk}/actions/submit", content_type="application/json")

    assert (patch.status_code, patch.json()) == (404, NOT_FOUND)
    assert (submit.status_code, submit.json()) == (404, NOT_FOUND)
    demand.refresh_from_db()
    assert (demand.title, demand.status) == ("原标题", "draft")
    assert Event.objects.count() == events


def test_missing_record_is_the_same_404(people, client):
    login(client, people, "platform_admin")
    assert client.get("/api/v1/demands/999999").json() == NOT_FOUND


# --- every role × every kind ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", EVERYONE)
def test_read_a_draft(people, client, kind, who):
    record = REGISTRY_FACTORIES[kind](organization=people.acme)
    log_event(actor=people.acme_member, action="create", target=record, to_status="draft")
    slug = SLUG[kind]
    login(client, people, who)

    detail = client.get(f"/api/v1/{slug}/{record.pk}")
    listed = [r["id"] for r in client.get(f"/api/v1/{slug}").json()["results"]]
    events = client.get(f"/api/v1/{slug}/{record.pk}/events")

    if who in DRAFT_VISIBLE:
        assert detail.status_code == 200
        assert (detail.json()["id"], detail.json()["status"]) == (record.pk, "draft")
        assert detail.json()["actions"] == ["submit"]
        assert listed == [record.pk]
        assert events.status_code == 200
        assert [(e["action"], e["actor"], e["to_status"]) for e in events.json()] == [
            ("create", str(people.acme_member), "draft")
        ]
    else:
        assert (detail.status_code, detail.json()) == (404, NOT_FOUND)
        assert listed == []
        assert events.status_code == 404


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", EVERYONE)
def test_update_a_draft(people, client, kind, who):
    record = REGISTRY_FACTORIES[kind](organization=people.acme)
    slug, field = SLUG[kind], KINDS[SLUG[kind]].title_field
    before = title_of(record)
    login(client, people, who)

    response = client.patch(f"/api/v1/{slug}/{record.pk}", {field: "改过的名称"}, content_type="application/json")

    record.refresh_from_db()
    if who in DRAFT_EDITABLE:
        assert response.status_code == 200
        assert response.json()[field] == "改过的名称"
        assert title_of(record) == "改过的名称"
        event = Event.objects.get(target_id=str(record.pk), action="update")
        assert (event.actor_name, event.changes) == (who, {field: [before, "改过的名称"]})
    else:
        assert response.status_code == (401 if who == "anonymous" else 404)
        assert title_of(record) == before
        assert not Event.objects.filter(target_id=str(record.pk), action="update").exists()


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", EVERYONE)
def test_update_a_published_record(people, client, kind, who):
    """Everyone sees it; its owners are told it cannot change while published, the others that they may not."""
    record = REGISTRY_FACTORIES[kind](organization=people.acme, status="published")
    slug, field = SLUG[kind], KINDS[SLUG[kind]].title_field
    before = title_of(record)
    login(client, people, who)

    response = client.patch(f"/api/v1/{slug}/{record.pk}", {field: "改过的名称"}, content_type="application/json")

    if who == "anonymous":
        assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    elif who in DRAFT_EDITABLE:
        assert (response.status_code, response.json()) == (
            400,
            {"code": "not_editable", "message": "当前状态不允许修改", "details": {}},
        )
    else:
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    record.refresh_from_db()
    assert title_of(record) == before


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", EVERYONE)
def test_submit_a_draft(people, client, kind, who):
    record = REGISTRY_FACTORIES[kind](organization=people.acme)
    login(client, people, who)

    response = client.post(f"/api/v1/{SLUG[kind]}/{record.pk}/actions/submit", {"comment": ""}, "application/json")

    record.refresh_from_db()
    if who in DRAFT_EDITABLE:
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["status_label"]) == ("submitted", "待审核")
        assert record.status == "submitted"
        event = Event.objects.get(target_id=str(record.pk), action="transition")
        assert (event.actor_name, event.from_status, event.to_status) == (who, "draft", "submitted")
    else:
        assert response.status_code == (401 if who == "anonymous" else 404)
        assert record.status == "draft"
        assert not Event.objects.filter(target_id=str(record.pk), action="transition").exists()


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", EVERYONE)
def test_approve_a_submitted_record(people, client, kind, who):
    record = REGISTRY_FACTORIES[kind](organization=people.acme, status="submitted")
    login(client, people, who)
    events = Event.objects.filter(action="transition").count()

    response = client.post(f"/api/v1/{SLUG[kind]}/{record.pk}/actions/approve", {"comment": "同意"}, "application/json")

    record.refresh_from_db()
    if who in REVIEWERS:
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["actions"]) == ("approved", ["publish"])
        assert (record.status, record.review_comment) == ("approved", "同意")
        event = Event.objects.get(target_id=str(record.pk), action="transition")
        assert (event.actor_name, event.from_status, event.to_status, event.comment) == (
            who,
            "submitted",
            "approved",
            "同意",
        )
        return
    if who == "anonymous":
        assert response.status_code == 401
    elif who in DRAFT_VISIBLE:  # the owners see it but may not review it
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    else:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert record.status == "submitted"
    assert Event.objects.filter(action="transition").count() == events


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", EVERYONE)
def test_create_for_acme(people, client, kind, who):
    slug = SLUG[kind]
    model = KINDS[slug].model
    login(client, people, who)

    response = client.post(
        f"/api/v1/{slug}", {**NEW_RECORD[slug], "organization_id": people.acme.pk}, content_type="application/json"
    )

    if who in ACME_CREATORS:
        assert response.status_code == 201
        body = response.json()
        assert (body["status"], body["organization"], body["region"]) == (
            "draft",
            {"id": people.acme.pk, "name": "淮北示例陶铝科技有限公司"},
            {"code": "340603", "name": "相山区"},
        )
        created = model.objects.get()
        assert created.pk == body["id"]
        assert Event.objects.get(target_id=str(created.pk), action="create").actor_name == who
    else:
        assert response.status_code == (401 if who == "anonymous" else 403)
        assert not model.objects.exists()


# --- the workflow through the API ----------------------------------------------------------------------------


def test_full_workflow_and_timeline(people, client):
    demand = DemandFactory(organization=people.acme)
    url = f"/api/v1/demands/{demand.pk}"
    steps = [
        ("acme_member", "submit", "", "submitted"),
        ("xiangshan_admin", "return", "请补充预算", "returned"),
        ("acme_member", "submit", "", "submitted"),
        ("xiangshan_admin", "approve", "", "approved"),
        ("acme_admin", "publish", "", "published"),
        ("acme_admin", "withdraw", "", "withdrawn"),
    ]
    for who, action, comment, status in steps:
        client.force_login(getattr(people, who))
        response = client.post(f"{url}/actions/{action}", {"comment": comment}, content_type="application/json")
        assert (response.status_code, response.json()["status"]) == (200, status)

    client.force_login(people.acme_member)  # a withdrawn record is no longer public
    timeline = client.get(f"{url}/events").json()
    assert [(e["action"], e["actor"], e["from_status"], e["to_status"], e["comment"]) for e in timeline] == [
        ("transition", people.acme_member.display_name, "draft", "submitted", ""),
        ("transition", people.xiangshan_admin.display_name, "submitted", "returned", "请补充预算"),
        ("transition", people.acme_member.display_name, "returned", "submitted", ""),
        ("transition", people.xiangshan_admin.display_name, "submitted", "approved", ""),
        ("transition", people.acme_admin.display_name, "approved", "published", ""),
        ("transition", people.acme_admin.display_name, "published", "withdrawn", ""),
    ]
    assert timeline[0]["action_label"] == "状态变更"
    assert timeline[0]["summary"] == "提交审核"


def test_timeline_names_changed_fields_without_their_values(people, client):
    demand = DemandFactory(organization=people.acme, status="published", contact_phone="13800001111")
    client.force_login(people.acme_member)
    client.post(f"/api/v1/demands/{demand.pk}/actions/withdraw", content_type="application/json")
    client.patch(f"/api/v1/demands/{demand.pk}", {"contact_phone": "13999998888"}, content_type="application/json")

    timeline = client.get(f"/api/v1/demands/{demand.pk}/events").json()

    assert timeline[-1]["action"] == "update"
    assert timeline[-1]["changed_fields"] == ["contact_phone"]
    assert "13999998888" not in str(timeline)


def test_return_without_comment_is_refused(people, client):
    record = AchievementFactory(organization=people.acme, status="submitted")
    client.force_login(people.xiangshan_admin)

    response = client.post(f"/api/v1/achievements/{record.pk}/actions/return", {"comment": "  "}, "application/json")

    assert (response.status_code, response.json()) == (
        400,
        {"code": "comment_required", "message": "退回时必须填写审核意见", "details": {}},
    )
    record.refresh_from_db()
    assert record.status == "submitted"


def test_publish_before_approval_is_refused(people, client):
    record = AchievementFactory(organization=people.acme)
    client.force_login(people.platform_admin)

    response = client.post(f"/api/v1/achievements/{record.pk}/actions/publish", content_type="application/json")

    assert (response.status_code, response.json()) == (
        400,
        {"code": "bad_transition", "message": "当前状态“草稿”不允许“发布”", "details": {}},
    )


def test_unknown_action_is_a_validation_error(people, client):
    record = AchievementFactory(organization=people.acme)
    client.force_login(people.acme_member)

    response = client.post(f"/api/v1/achievements/{record.pk}/actions/delete", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["details"] == {
        "action": ["不是可选的值；可选：'submit', 'approve', 'return', 'publish' or 'withdraw'。"]
    }


# --- input and output ----------------------------------------------------------------------------------------


def test_create_gives_field_errors_in_chinese_and_writes_nothing(people, client):
    client.force_login(people.acme_member)

    response = client.post(
        "/api/v1/achievements",
        {
            "organization_id": people.acme.pk,
            "title": "t",
            "abstract": "a",
            "readiness_level": 12,
            "transfer_modes": ["sell"],
            "ip_items": [{"kind": "invention", "number": "ZL202310123456.1"}],
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "数据校验未通过",
        "details": {
            "readiness_level": ["确保该值小于或等于9。"],
            "transfer_modes": ["不认识的选项：sell"],
            "ip_items": ["专利号校验位错误：ZL202310123456.1（校验位应为 6）"],
        },
    }
    assert not KINDS["achievements"].model.objects.exists()


def test_malformed_input_is_refused_before_the_service(people, client):
    client.force_login(people.acme_member)

    response = client.post(
        "/api/v1/achievements",
        {"abstract": "a", "readiness_level": "高", "status": "published", "deadline": "x"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["details"] == {
        "title": ["这个字段是必填项。"],
        "readiness_level": ["应为整数。"],
        "status": ["不认识的字段。"],
        "deadline": ["不认识的字段。"],
    }


def test_body_that_is_not_json(people, client):
    client.force_login(people.acme_member)
    response = client.post("/api/v1/demands", "{title:", content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {"code": "bad_request", "message": "请求格式不正确：请求体应为合法的 JSON", "details": {}},
    )


@pytest.mark.parametrize("body", [None, "[]", '"标题"'], ids=["no_body", "array", "string"])
def test_body_must_be_an_object(people, client, body):
    demand = DemandFactory(organization=people.acme)
    client.force_login(people.acme_member)
    response = client.patch(
        f"/api/v1/demands/{demand.pk}", **({} if body is None else {"data": body}), content_type="application/json"
    )
    assert (response.status_code, response.json()["details"]) == (400, {"__all__": ["请求体应为 JSON 对象。"]})


@pytest.mark.parametrize(
    "body,details",
    [
        ({"region": "999999"}, {"region": ["不存在：999999"]}),
        ({"industry": "9999"}, {"industry": ["不存在：9999"]}),
        ({"organization_id": 999999}, {"organization_id": ["不存在：999999"]}),
    ],
)
def test_unknown_references_are_named(people, client, body, details):
    client.force_login(people.platform_admin)
    response = client.post("/api/v1/demands", {"title": "t", "description": "d", **body}, "application/json")
    assert (response.status_code, response.json()["details"]) == (400, details)


def test_codes_lists_and_decimals(people, client):
    client.force_login(people.acme_member)

    response = client.post(
        "/api/v1/demands",
        {
            "organization_id": people.acme.pk,
            "title": "氢能燃料电池膜电极",
            "description": "寻求合作开发",
            "fields": ["new_energy", "new_materials"],
            "cooperation_modes": ["co_development"],
            "industry": "3841",
            "region": "340600-P01",
            "budget": "500000",
            "deadline": "2026-12-31",
            "is_bottleneck": True,
        },
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["fields"] == ["new_energy", "new_materials"]
    assert body["cooperation_modes"] == ["co_development"]
    assert body["industry"] == {"code": "3841", "name": "锂离子电池制造"}
    assert body["region"] == {"code": "340600-P01", "name": "淮北高新技术产业开发区"}
    assert (body["budget"], body["deadline"], body["is_bottleneck"]) == ("500000.00", "2026-12-31", True)
    demand = KINDS["demands"].model.objects.get()
    assert (demand.fields, demand.cooperation_modes, str(demand.budget)) == (
        ",new_energy,new_materials,",
        ",co_development,",
        "500000.00",
    )


def test_patch_changes_only_what_it_names_and_null_clears(people, client):
    demand = DemandFactory(organization=people.acme, industry_id="3841", title="原标题", budget="100.00")
    client.force_login(people.acme_member)

    response = client.patch(f"/api/v1/demands/{demand.pk}", {"industry": None}, content_type="application/json")

    assert response.status_code == 200
    demand.refresh_from_db()
    assert (demand.industry_id, demand.title, str(demand.budget)) == (None, "原标题", "100.00")
    assert Event.objects.get(target_id=str(demand.pk), action="update").changes == {"industry": ["3841", None]}


def test_patch_refuses_null_for_a_required_column(people, client):
    demand = DemandFactory(organization=people.acme, title="原标题")
    client.force_login(people.acme_member)
    response = client.patch(f"/api/v1/demands/{demand.pk}", {"title": None}, content_type="application/json")
    assert (response.status_code, response.json()["details"]) == (400, {"title": ["应为文字。"]})


def test_organization_cannot_be_moved_by_patch(people, client):
    demand = DemandFactory(organization=people.acme)
    client.force_login(people.acme_admin)
    response = client.patch(
        f"/api/v1/demands/{demand.pk}", {"organization_id": people.rival.pk}, content_type="application/json"
    )
    assert (response.status_code, response.json()["details"]) == (400, {"organization_id": ["不认识的字段。"]})
    demand.refresh_from_db()
    assert demand.organization == people.acme


# --- masking -------------------------------------------------------------------------------------------------

MASKED = {"contact_phone": "138****1111", "contact_email": "l***@example.com"}
CLEAR = {"contact_phone": "13800001111", "contact_email": "li@example.com"}


@pytest.mark.parametrize(
    "who,acme_contacts,rival_contacts",
    [
        ("anonymous", MASKED, MASKED),
        ("acme_member", CLEAR, MASKED),
        ("rival_member", MASKED, CLEAR),
        ("xiangshan_admin", CLEAR, MASKED),
        ("platform_admin", CLEAR, CLEAR),
        ("scout", MASKED, MASKED),
    ],
)
def test_contacts_masked_per_item_for_those_who_may_not_edit(people, client, who, acme_contacts, rival_contacts):
    acme = DemandFactory(organization=people.acme, status="published", title="甲")
    rival = DemandFactory(organization=people.rival, status="published", title="乙")
    login(client, people, who)

    results = client.get("/api/v1/demands?ordering=title").json()["results"]
    detail = client.get(f"/api/v1/demands/{acme.pk}").json()

    contacts = {r["id"]: {k: r[k] for k in CLEAR} for r in results}
    assert contacts == {acme.pk: acme_contacts, rival.pk: rival_contacts}
    assert {k: detail[k] for k in CLEAR} == acme_contacts
    assert detail["contact_name"] == "李老师"


# --- lists: pagination, ordering, filters, queries ----------------------------------------------------------


def test_pagination(people, client):
    for i in range(7):
        AchievementFactory(organization=people.acme, status="published", title=f"成果{i}")

    pages = [client.get(f"/api/v1/achievements?ordering=title&page_size=3&page={n}").json() for n in (1, 2, 3, 4)]

    assert [p["count"] for p in pages] == [7, 7, 7, 7]
    assert [[r["title"] for r in p["results"]] for p in pages] == [
        ["成果0", "成果1", "成果2"],
        ["成果3", "成果4", "成果5"],
        ["成果6"],
        [],
    ]
    assert (pages[1]["page"], pages[1]["page_size"]) == (2, 3)


@pytest.mark.parametrize(
    "query,details",
    [
        ("page_size=101", {"page_size": ["确保该值小于或等于100。"]}),
        ("page_size=0", {"page_size": ["确保该值大于或等于1。"]}),
        ("page=0", {"page": ["确保该值大于或等于1。"]}),
        ("page=二", {"page": ["应为整数。"]}),
    ],
)
def test_bad_pagination_is_refused(people, client, query, details):
    response = client.get(f"/api/v1/achievements?{query}")
    assert (response.status_code, response.json()["details"]) == (400, details)


def test_ordering(people, client):
    import datetime

    from django.utils import timezone

    now = timezone.now()
    for title, trl, days in [("乙", 5, 3), ("甲", 9, 1), ("丙", 2, 2)]:
        AchievementFactory(
            organization=people.acme,
            status="published",
            title=title,
            readiness_level=trl,
            published_at=now - datetime.timedelta(days=days),
        )

    def titles(ordering=""):
        return [r["title"] for r in client.get(f"/api/v1/achievements?ordering={ordering}").json()["results"]]

    assert titles() == ["甲", "丙", "乙"]  # newest first by default
    assert titles("published_at") == ["乙", "丙", "甲"]
    assert titles("readiness_level") == ["丙", "乙", "甲"]
    assert titles("-readiness_level") == ["甲", "乙", "丙"]
    response = client.get("/api/v1/achievements?ordering=abstract")
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["ordering"]


@pytest.fixture
def achievements(people):
    """Three published achievements that differ in every filterable way, and acme's draft."""
    AchievementFactory(
        organization=people.acme,
        status="published",
        title="陶铝活塞",
        high_tech_field="new_materials",
        industry_id="3841",
        kind="applied",
        stage="mature",
        readiness_level=7,
        transfer_modes=",transfer,license,",
        pricing_method="agreement",
    )
    AchievementFactory(
        organization=people.rival,
        status="published",
        title="锂电隔膜",
        abstract="湿法隔膜涂覆工艺",
        high_tech_field="new_energy",
        industry_id="2614",
        kind="basic",
        stage="early",
        readiness_level=3,
        transfer_modes=",equity,",
        pricing_method="auction",
    )
    AchievementFactory(
        organization=people.acme,
        region=region("340600-P01"),
        status="published",
        title="矿井巡检软件",
        high_tech_field="electronic_information",
        industry_id="6513",
        kind="soft_science",
        stage="middle",
        readiness_level=5,
        transfer_modes=",co_development,",
        pricing_method="listing",
    )
    AchievementFactory(organization=people.acme, status="draft", title="未发布草稿", readiness_level=9)


@pytest.mark.parametrize(
    "query,titles",
    [
        ("region=340603", ["陶铝活塞"]),
        ("region=340600", ["矿井巡检软件", "锂电隔膜", "陶铝活塞"]),
        ("region=340600-P01", ["矿井巡检软件"]),
        ("status=published", ["矿井巡检软件", "锂电隔膜", "陶铝活塞"]),
        ("status=draft", []),
        ("organization={rival}", ["锂电隔膜"]),
        ("field=new_energy", ["锂电隔膜"]),
        ("industry=C", ["锂电隔膜", "陶铝活塞"]),
        ("industry=38", ["陶铝活塞"]),
        ("industry=6513", ["矿井巡检软件"]),
        ("kind=basic", ["锂电隔膜"]),
        ("stage=middle", ["矿井巡检软件"]),
        ("readiness_min=5", ["矿井巡检软件", "陶铝活塞"]),
        ("readiness_max=5", ["矿井巡检软件", "锂电隔膜"]),
        ("readiness_min=4&readiness_max=6", ["矿井巡检软件"]),
        ("transfer_mode=license", ["陶铝活塞"]),
        ("transfer_mode=equity", ["锂电隔膜"]),
        ("pricing_method=listing", ["矿井巡检软件"]),
        ("q=隔膜 涂覆", ["锂电隔膜"]),
        ("q=陶铝&industry=C&readiness_min=6", ["陶铝活塞"]),
    ],
)
def test_every_achievement_filter(people, achievements, client, query, titles):
    response = client.get(f"/api/v1/achievements?ordering=title&{query.format(rival=people.rival.pk)}")
    assert response.status_code == 200
    assert [r["title"] for r in response.json()["results"]] == sorted(titles)


def test_every_achievement_filter_is_covered():
    tested = {"region", "status", "organization", "field", "industry", "kind", "stage", "readiness_min"}
    tested |= {"readiness_max", "transfer_mode", "pricing_method"}
    assert set(KINDS["achievements"].filters) == tested


def test_status_filter_shows_drafts_only_to_those_who_may_see_them(people, achievements, client):
    client.force_login(people.acme_member)
    assert [r["title"] for r in client.get("/api/v1/achievements?status=draft").json()["results"]] == ["未发布草稿"]


@pytest.mark.parametrize(
    "query,details",
    [
        (
            "transfer_mode=sell",
            {"transfer_mode": ["不是可选的值；可选：'transfer', 'license', 'equity' or 'co_development'。"]},
        ),
        ("readiness_min=高", {"readiness_min": ["应为整数。"]}),
        ("organization=acme", {"organization": ["应为整数。"]}),
    ],
)
def test_bad_filter_values_are_refused(people, client, query, details):
    response = client.get(f"/api/v1/achievements?{query}")
    assert (response.status_code, response.json()["details"]) == (400, details)


def test_demand_filters_take_typed_values(people, client):
    DemandFactory(organization=people.acme, status="published", title="甲", budget="800000", is_bottleneck=True)
    DemandFactory(organization=people.acme, status="published", title="乙", budget="1000", deadline="2026-01-01")

    def titles(query):
        return [r["title"] for r in client.get(f"/api/v1/demands?ordering=title&{query}").json()["results"]]

    assert titles("is_bottleneck=true") == ["甲"]
    assert titles("is_bottleneck=false") == ["乙"]
    assert titles("budget_min=5000.5") == ["甲"]
    assert titles("deadline_after=2025-12-31") == ["乙"]
    assert titles("field=new_energy") == ["乙", "甲"]


def list_queries(client, slug, page_size) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/{slug}?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("kind", KIND_NAMES)
@pytest.mark.parametrize("who", ["anonymous", "acme_member", "platform_admin"])
def test_list_query_count_does_not_grow_with_page_size(people, client, django_assert_num_queries, kind, who):
    for _ in range(50):
        REGISTRY_FACTORIES[kind](organization=people.acme, status="published")
    login(client, people, who)
    list_queries(client, SLUG[kind], 1)  # warm up: a session's first request writes its timestamp
    small = list_queries(client, SLUG[kind], 5)

    with django_assert_num_queries(len(small)):
        response = client.get(f"/api/v1/{SLUG[kind]}?page_size=50")

    assert len(response.json()["results"]) == 50
    table = KINDS[SLUG[kind]].model._meta.db_table
    on_records = [sql for sql in small if f'"{table}"' in sql]
    # the count, the page's ids, their rows, and (for a signed-in user) the page's editable ids:
    # nothing per item
    assert len(on_records) == (3 if who == "anonymous" else 4)


def test_list_reads_organization_region_and_industry_with_the_page(people, client):
    for _ in range(10):
        AchievementFactory(organization=people.acme, status="published", industry_id="3841")
    queries = list_queries(client, "achievements", 10)
    results = client.get("/api/v1/achievements?page_size=10").json()["results"]
    assert not [
        sql for sql in queries if 'FROM "organizations_organization"' in sql or 'FROM "core_industrycode"' in sql
    ]
    assert {(r["organization"]["name"], r["region"]["name"], r["industry"]["name"]) for r in results} == {
        ("淮北示例陶铝科技有限公司", "相山区", "锂离子电池制造")
    }


def test_detail_asks_whether_the_user_may_edit_once(people, client):
    demand = DemandFactory(organization=people.acme)
    login(client, people, "xiangshan_admin")  # an editor and a reviewer of the draft
    client.get("/api/v1/demands")  # warm up: a session's first request writes its timestamp

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/demands/{demand.pk}")

    assert (response.status_code, response.json()["actions"]) == (200, ["submit"])
    on_records = [q["sql"] for q in queries.captured_queries if '"demands_demand"' in q["sql"]]
    # the record itself, may the user edit it (masking and actions), may they review it
    assert len(on_records) == 3
