"""Editing a policy and its application guide, creating one, the per-process engine library, and query counts."""

import datetime

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from techtransfer.audit.models import Event
from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.policies import engine, selectors, services
from techtransfer.policies.models import Notice, Policy, PolicyClause

pytestmark = pytest.mark.django_db

GUIDE = {
    "title": "淮北市科技成果转化中试基地奖励办法",
    "document_number": "淮科〔2026〕12号",
    "issuer": "淮北市科学技术局",
    "level": "municipal",
    "valid_from": "2026-01-01",
    "valid_to": "2028-12-31",
    "summary": "对新认定的中试基地给予奖励",
    "guide_target": "在淮注册的企业和高校院所",
    "guide_conditions": "获省级中试基地认定",
    "guide_materials": "申请表\n认定文件复印件",
    "guide_time_limit": "受理后 20 个工作日",
    "guide_department": "市科技局成果转化科",
    "guide_phone": "0561-3000000",
    "full_text": "第一条 为加快科技成果转化，制定本办法。",
}


def policy_events(policy) -> list:
    """The policy's audit events after its import from the shipped library (``library_sync`` logs that)."""
    found = Event.objects.filter(target_type__model="policy", target_id=str(policy.pk)).order_by("id")
    return list(found.exclude(summary="从规则库导入政策"))


def fields(**overrides) -> dict:
    data = {
        **GUIDE,
        "valid_from": datetime.date(2026, 1, 1),
        "valid_to": datetime.date(2028, 12, 31),
        **overrides,
    }
    return data


# ---------------------------------------------------------------- services


def test_staff_create_a_policy_that_the_engine_knows_and_the_audit_log_records(people, library):
    policy = services.policy_save(actor=people.platform_admin, engine_id="huaibei_pilot_2026", fields=fields())
    assert (policy.document_number, policy.level, policy.materials) == (
        "淮科〔2026〕12号",
        "municipal",
        ["申请表", "认定文件复印件"],
    )
    (event,) = policy_events(policy)
    assert (event.action, event.actor) == ("create", people.platform_admin)
    assert event.changes["document_number"] == [None, "淮科〔2026〕12号"]
    assert event.changes["valid_to"] == [None, "2028-12-31"]
    known = engine.current_library().policies["huaibei_pilot_2026"]
    assert (known.source.number, known.valid_from) == ("淮科〔2026〕12号", datetime.date(2026, 1, 1))


def test_an_edit_records_only_what_changed(people, library):
    plan = Policy.objects.get(engine_id="huaibei_transfer_plan")
    before = {f: getattr(plan, f) for f in ("title", "issuer", "level", "valid_from", "valid_to", "summary")}
    services.policy_save(
        actor=people.platform_admin,
        policy=plan,
        fields={**before, "guide_phone": "0561-3000000", "guide_materials": "申请表\n证明材料"},
    )
    (event,) = policy_events(plan)
    assert event.action == "update"
    assert event.changes == {"guide_phone": ["", "0561-3000000"], "guide_materials": ["", "申请表\n证明材料"]}
    # saving the same values again writes nothing
    services.policy_save(actor=people.platform_admin, policy=plan, fields={"guide_phone": "0561-3000000"})
    assert len(policy_events(plan)) == 1


@pytest.mark.parametrize(
    ("engine_id", "overrides", "field", "message"),
    [
        ("huaibei_x", {"valid_to": datetime.date(2025, 1, 1)}, "valid_to", "失效日期不能早于生效日期"),
        ("huaibei_x", {"level": "galactic"}, "level", "值 'galactic' 不是有效选项。"),
        ("huaibei_x", {"title": ""}, "title", "此字段不能为空。"),
        ("hte_recognition", {}, "engine_id", "“hte_recognition”是随平台发布的规则库中的政策编号，请换一个"),
    ],
)
def test_a_bad_policy_is_refused_in_chinese_and_changes_nothing(people, library, engine_id, overrides, field, message):
    count, events = Policy.objects.count(), Event.objects.count()
    with pytest.raises(ServiceError) as exc:
        services.policy_save(actor=people.platform_admin, engine_id=engine_id, fields=fields(**overrides))
    assert exc.value.details[field] == [message]
    assert (Policy.objects.count(), Event.objects.count()) == (count, events)


def test_a_date_change_that_leaves_a_clause_outside_the_policy_is_refused(people, library):
    policy = services.policy_save(actor=people.platform_admin, engine_id="huaibei_pilot_2026", fields=fields())
    services.clause_save(
        actor=people.platform_admin,
        policy=policy,
        clause_id="huaibei.pilot_2026_reward",
        fields={
            "title": "中试基地奖励",
            "track": "exempt",
            "condition": "staff >= 1",
            "amount": "100000",
            "effective_from": datetime.date(2026, 1, 1),
            "source_article": "第三条",
        },
    )
    with pytest.raises(ServiceError) as exc:
        services.policy_save(
            actor=people.platform_admin, policy=policy, fields={"valid_from": datetime.date(2026, 7, 1)}
        )
    assert exc.value.message.startswith("修改后本政策的条款不能通过规则校验：")
    policy.refresh_from_db()
    assert policy.valid_from == datetime.date(2026, 1, 1)


def test_only_platform_administrators_edit_policies(people, library):
    plan = Policy.objects.get(engine_id="huaibei_transfer_plan")
    for user in (people.xiangshan_admin, people.acme_admin, people.outsider, None):
        with pytest.raises(AccessDenied):
            services.policy_save(actor=user, policy=plan, fields={"guide_phone": "110"})
        with pytest.raises(AccessDenied):
            services.policy_save(actor=user, engine_id="huaibei_y", fields=fields())
    plan.refresh_from_db()
    assert plan.guide_phone == ""
    assert not Policy.objects.filter(engine_id="huaibei_y").exists()


# ---------------------------------------------------------------- pages


def test_staff_edit_a_policy_and_its_guide_on_its_page_and_the_cached_page_refreshes(client, people, library):
    plan = Policy.objects.get(engine_id="huaibei_transfer_plan")
    detail = reverse("policies:detail", args=[plan.pk])
    assert client.get(detail)["X-Page-Cache"] == "miss"
    assert client.get(detail)["X-Page-Cache"] == "hit"

    client.force_login(people.platform_admin)
    assert reverse("policies:edit", args=[plan.pk]) in client.get(detail).content.decode()
    form = client.get(reverse("policies:edit", args=[plan.pk]))
    assert form.status_code == 200
    data = {**form.context["form"].initial, **{k: GUIDE[k] for k in ("guide_department", "guide_phone")}}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["document_number"] = "淮政办秘〔2023〕30号"
    response = client.post(reverse("policies:edit", args=[plan.pk]), data)
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.document_number, plan.guide_department, plan.guide_phone) == (
        "淮政办秘〔2023〕30号",
        "市科技局成果转化科",
        "0561-3000000",
    )
    (event,) = policy_events(plan)
    assert set(event.changes) == {"document_number", "guide_department", "guide_phone"}

    client.logout()
    response = client.get(detail)
    assert response["X-Page-Cache"] == "miss"
    assert "淮政办秘〔2023〕30号" in response.content.decode()
    assert "0561-3000000" in response.content.decode()


def test_the_policy_form_shows_errors_in_chinese_and_saves_nothing(client, people, library):
    plan = Policy.objects.get(engine_id="huaibei_transfer_plan")
    client.force_login(people.platform_admin)
    page = client.post(
        reverse("policies:edit", args=[plan.pk]),
        {**GUIDE, "title": "", "valid_from": "2026-13-01", "valid_to": ""},
    )
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert errors["title"] == ["这个字段是必填项。"]
    assert errors["valid_from"] == ["请填写有效的日期，如 2025-01-01"]

    page = client.post(reverse("policies:edit", args=[plan.pk]), {**GUIDE, "valid_to": "2025-01-01"})
    assert page.context["form"].errors["valid_to"] == ["失效日期不能早于生效日期"]
    plan.refresh_from_db()
    assert plan.document_number != GUIDE["document_number"]
    assert policy_events(plan) == []


def test_staff_create_a_policy_from_the_list_then_add_a_clause_to_it(client, people, library):
    client.force_login(people.platform_admin)
    assert reverse("policies:new") in client.get(reverse("policies:list")).content.decode()
    bad = client.post(reverse("policies:new"), {**GUIDE, "engine_id": "中试基地"})
    assert bad.context["form"].errors["engine_id"] == ["规则库编号只能由小写字母、数字和下划线组成，并以字母开头"]
    duplicate = client.post(reverse("policies:new"), {**GUIDE, "engine_id": "huaibei_transfer_plan"})
    assert "随平台发布的规则库中的政策编号" in duplicate.context["form"].errors["engine_id"][0]

    response = client.post(reverse("policies:new"), {**GUIDE, "engine_id": "huaibei_pilot_2026"})
    policy = Policy.objects.get(engine_id="huaibei_pilot_2026")
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:detail", args=[policy.pk])
    assert policy.issuer == "淮北市科学技术局"

    clause = client.post(
        reverse("policies:clause_new", args=[policy.pk]),
        {
            "clause_id": "huaibei.pilot_2026_reward",
            "title": "中试基地奖励",
            "track": "exempt",
            "condition": "staff >= 1",
            "amount": "100000",
            "source_article": "第三条",
            "is_active": "on",
        },
    )
    assert clause.status_code == 302
    (result,) = selectors.evaluate_facts(
        clause_id="huaibei.pilot_2026_reward",
        policy_id=None,
        facts={"staff": 10},
        period=2026,
        applied_on=datetime.date(2026, 3, 1),
    )
    assert (result.status.code, result.amount) == ("eligible", 100000)


def test_the_policy_pages_are_closed_to_others_as_the_rest_of_the_app(client, people, library):
    plan = Policy.objects.get(engine_id="huaibei_transfer_plan")
    edit, new = reverse("policies:edit", args=[plan.pk]), reverse("policies:new")
    assert client.get(edit).status_code == 302  # anonymous: to the login page
    assert client.post(new, {**GUIDE, "engine_id": "huaibei_z"}).status_code == 302
    for user in (people.acme_admin, people.xiangshan_admin):
        client.force_login(user)
        assert (
            reverse("policies:edit", args=[plan.pk])
            not in client.get(reverse("policies:detail", args=[plan.pk])).content.decode()
        )
        assert client.get(edit).status_code == 403
        assert client.post(edit, GUIDE).status_code == 403
        assert client.post(new, {**GUIDE, "engine_id": "huaibei_z"}).status_code == 403
    client.force_login(people.platform_admin)
    assert client.get(reverse("policies:edit", args=[99999])).status_code == 404
    plan.refresh_from_db()
    assert plan.guide_phone == "" and policy_events(plan) == []
    assert not Policy.objects.filter(engine_id="huaibei_z").exists()


# ---------------------------------------------------------------- the engine library, per process


def evaluate_staff(facts):
    (result,) = selectors.evaluate_facts(
        clause_id="huaibei.small_bonus",
        policy_id=None,
        facts=facts,
        period=2024,
        applied_on=datetime.date(2025, 3, 1),
    )
    return result.status.code


@pytest.fixture
def staff_clause(people, library):
    return services.clause_save(
        actor=people.platform_admin,
        policy=Policy.objects.get(engine_id="huaibei_transfer_plan"),
        clause_id="huaibei.small_bonus",
        fields={
            "title": "小微企业奖励",
            "track": "exempt",
            "condition": "staff <= 300",
            "source_article": "二、（五）",
        },
    )


def test_the_library_is_built_once_and_then_costs_one_query(staff_clause, django_assert_num_queries, monkeypatch):
    first = engine.current_library()
    builds = []
    monkeypatch.setattr(engine, "build_library", lambda: builds.append(1))
    with django_assert_num_queries(1):
        assert engine.current_library() is first
    assert builds == []


def test_an_edited_clause_is_seen_by_the_next_evaluation(people, staff_clause):
    assert evaluate_staff({"staff": 200}) == "eligible"
    services.clause_save(
        actor=people.platform_admin,
        policy=staff_clause.policy,
        clause=staff_clause,
        fields={"condition": "staff <= 100"},
    )
    assert evaluate_staff({"staff": 200}) == "not_eligible"


def test_a_change_committed_by_another_worker_is_seen_at_once(staff_clause):
    assert evaluate_staff({"staff": 200}) == "eligible"
    # another process saves the clause: nothing in this process is told, only the rows change
    PolicyClause.objects.filter(pk=staff_clause.pk).update(condition="staff <= 100", updated_at=timezone.now())
    assert evaluate_staff({"staff": 200}) == "not_eligible"
    PolicyClause.objects.create(
        policy=staff_clause.policy,
        clause_id="huaibei.other_bonus",
        title="另一条款",
        track="exempt",
        condition="staff <= 5",
        source_article="二、（五）",
    )
    assert "huaibei.other_bonus" in engine.current_library().clauses


# ---------------------------------------------------------------- query counts


def grow_library(people, plan, prefix: str, n: int) -> None:
    """``n`` more staff-written clauses, each with a notice, on ``plan``, and ``n`` more policies."""
    for i in range(n):
        clause = services.clause_save(
            actor=people.platform_admin,
            policy=plan,
            clause_id=f"huaibei.{prefix}_{i}",
            fields={"title": f"条款{i}", "track": "quick", "condition": f"staff <= {i + 1}", "source_article": "二"},
        )
        Notice.objects.create(
            policy=plan,
            clause=clause,
            title=f"通知{prefix}{i}",
            period=2025,
            opens_on=datetime.date(2025, 5, 1),
            closes_on=datetime.date(2025, 6, 30),
        )
        services.policy_save(actor=people.platform_admin, engine_id=f"{prefix}_{i}", fields=fields(title=f"政策{i}"))


def page_queries(client, url) -> int:
    caches["pages"].clear()  # measure the page as rendered, not the anonymous page cache's copy
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# The most queries each page may take (measured: anonymous 3 and 5, signed in 6 and 8 with the session, user
# and roles); the counts must not grow with the number of policies, clauses or notices.
LIST_MAX, DETAIL_MAX = 6, 8


@pytest.mark.parametrize("who", ["anonymous", "platform_admin", "acme_member"])
def test_the_policy_list_and_detail_pages_take_the_same_queries_as_the_library_grows(
    client, people, library, who, django_assert_num_queries
):
    if who != "anonymous":
        client.force_login(getattr(people, who))
    plan = Policy.objects.get(engine_id="huaibei_transfer_plan")
    urls = {"list": reverse("policies:list"), "detail": reverse("policies:detail", args=[plan.pk])}
    grow_library(people, plan, "few", 1)
    engine.current_library()  # built once per process after a change, not once per page
    for url in urls.values():
        client.get(url)  # the first request after signing in also loads the session
    few = {name: page_queries(client, url) for name, url in urls.items()}
    assert few["list"] <= LIST_MAX and few["detail"] <= DETAIL_MAX

    grow_library(people, plan, "many", 4)
    engine.current_library()
    for name, url in urls.items():
        caches["pages"].clear()
        with django_assert_num_queries(few[name]):
            assert client.get(url).status_code == 200
