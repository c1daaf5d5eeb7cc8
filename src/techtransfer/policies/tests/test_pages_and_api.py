"""政策兑现 pages and ``/api/v1/policies``: what each role sees, and refused writes that change nothing."""

import datetime
import json

import pytest
from django.urls import reverse

from techtransfer.policies import services
from techtransfer.policies.models import Application, Entitlement, Policy, PolicyClause

pytestmark = pytest.mark.django_db


@pytest.fixture
def matched(people, library, acme_new_hte):
    services.entitlement_batch_run(actor=people.platform_admin, period=2025, applied_on=datetime.date(2025, 6, 1))
    return Entitlement.objects.get(organization=people.acme, clause__clause_id="huaibei.hte_new_reward")


def test_policy_library_is_public_with_number_and_guide(client, library):
    page = client.get(reverse("policies:list"))
    assert page.status_code == 200
    assert "国科发火〔2016〕32号" in page.content.decode()
    hte = Policy.objects.get(engine_id="hte_recognition")
    detail = client.get(reverse("policies:detail", args=[hte.pk])).content.decode()
    assert "高新技术企业认定条件预检" in detail
    assert "申报指南" in detail
    assert "has_core_ip" in detail  # the condition as the engine runs it


def test_members_see_their_entitlements_with_reasons_and_what_is_missing(client, people, matched):
    client.force_login(people.acme_member)
    page = client.get(reverse("policies:mine")).content.decode()
    assert "新认定高新技术企业奖励" in page
    assert "150000.00" in page
    assert "符合条件，待确认" in page

    client.force_login(people.rival_member)
    page = client.get(reverse("policies:mine")).content.decode()
    assert "淮北示例陶铝科技有限公司" not in page
    assert "缺少数据：首次认定为高新技术企业的年度" in page


def test_staff_page_totals_by_region_and_is_closed_to_enterprises(client, people, matched):
    client.force_login(people.xiangshan_admin)
    page = client.get(reverse("policies:staff"))
    assert page.status_code == 200
    summary = page.context["summary"]
    assert [r["organization__region__name"] for r in summary["by_region"]] == ["相山区"]
    assert summary["total"] == matched.amount
    assert "运行政策匹配" not in page.content.decode()  # only platform administrators run it

    client.force_login(people.platform_admin)
    assert "运行政策匹配" in client.get(reverse("policies:staff")).content.decode()

    client.force_login(people.acme_admin)
    assert client.get(reverse("policies:staff")).status_code == 403


def test_confirm_button_of_another_region_is_a_404_and_changes_nothing(client, people, matched):
    client.force_login(people.suixi_admin)
    response = client.post(reverse("policies:entitlement_action", args=[matched.pk, "confirm"]))
    assert response.status_code == 404
    matched.refresh_from_db()
    assert matched.status == "eligible"


def test_staff_confirm_then_pay_in_the_ui_and_an_unknown_action_changes_nothing(client, people, matched):
    client.force_login(people.xiangshan_admin)
    client.post(reverse("policies:entitlement_action", args=[matched.pk, "confirm"]))
    matched.refresh_from_db()
    assert matched.status == "confirmed"

    response = client.post(reverse("policies:entitlement_action", args=[matched.pk, "bogus"]), {"reference": "HB-7"})
    assert response.status_code == 403
    matched.refresh_from_db()
    assert (matched.status, matched.payment_reference) == ("confirmed", "")

    client.post(reverse("policies:entitlement_action", args=[matched.pk, "pay"]), {"reference": "HB-7"})
    matched.refresh_from_db()
    assert (matched.status, matched.payment_reference) == ("paid", "HB-7")


def test_staff_adds_a_clause_in_the_ui_and_a_bad_expression_is_shown_in_chinese(client, people, library):
    policy = Policy.objects.get(engine_id="huaibei_transfer_plan")
    client.force_login(people.platform_admin)
    url = reverse("policies:clause_new", args=[policy.pk])
    data = {
        "clause_id": "huaibei.ui_bonus",
        "title": "界面新增条款",
        "track": "exempt",
        "condition": "职工总数 <= 300",
        "source_article": "二、（五）",
        "is_active": "on",
    }
    page = client.post(url, data)
    assert page.status_code == 200
    assert "职工总数" in " ".join(page.context["form"].errors["condition"])
    assert not PolicyClause.objects.filter(clause_id="huaibei.ui_bonus").exists()

    data["condition"] = "staff <= 300"
    assert client.post(url, data).status_code == 302
    assert PolicyClause.objects.get(clause_id="huaibei.ui_bonus").condition == "staff <= 300"


def test_application_flow_through_the_pages(client, people, notice, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: datetime.date(2025, 6, 10))
    client.force_login(people.acme_member)
    response = client.post(reverse("policies:apply", args=[notice.pk]), {"instrument_sharing_spend": "50000"})
    app = Application.objects.get()
    assert response.status_code == 302
    assert app.facts == {"instrument_sharing_spend": "50000"}
    draft = client.get(reverse("policies:application", args=[app.pk])).content.decode()
    assert "提交申报" in draft
    facts_url = reverse("policies:application_action", args=[app.pk, "facts"])
    page = client.post(facts_url, {"instrument_sharing_spend": "1" * 31}, follow=True).content.decode()
    assert "申报数据有误" in page
    app.refresh_from_db()
    assert app.facts == {"instrument_sharing_spend": "50000"}  # the bad value did not erase the fact
    client.post(reverse("policies:application_action", args=[app.pk, "submit"]))
    app.refresh_from_db()
    assert app.status == "submitted"

    client.force_login(people.rival_member)
    assert client.get(reverse("policies:application", args=[app.pk])).status_code == 404

    client.force_login(people.xiangshan_admin)
    assert "提交审核结果" in client.get(reverse("policies:application", args=[app.pk])).content.decode()
    client.post(reverse("policies:application_action", args=[app.pk, "review"]), {"decision": "approve"})
    app.refresh_from_db()
    assert (app.status, str(app.amount)) == ("approved", "15000.00")


# ---------------------------------------------------------------- API


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_api_evaluate_is_an_anonymous_calculator_with_a_trace(client, library):
    response = post_json(
        client,
        "/api/v1/policies/evaluate",
        {
            "clause": "huaibei.tech_service_subsidy",
            "facts": {"is_tech_sme": True, "tech_service_spend": "200000"},
            "period": 2024,
            "applied_on": "2025-03-01",
        },
    )
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["status"] == "eligible"
    assert result["trace"]["rule_version"]["clause"] == "huaibei.tech_service_subsidy"
    assert result["explanation"].startswith("科技创新服务支出补助：符合")


def test_api_evaluate_reports_missing_facts_and_bad_input_in_chinese(client, library):
    missing = post_json(
        client,
        "/api/v1/policies/evaluate",
        {"clause": "tech_sme.precheck", "facts": {"staff": 100}, "period": 2024, "applied_on": "2025-03-01"},
    ).json()["results"][0]
    assert (missing["status"], missing["missing"]) == (
        "missing",
        ["revenue", "assets", "sme_score", "tech_staff_indicator"],
    )
    bad = post_json(
        client,
        "/api/v1/policies/evaluate",
        {"clause": "tech_sme.precheck", "facts": {"staff": "许多"}, "period": 2024, "applied_on": "2025-03-01"},
    )
    assert bad.status_code == 400
    assert bad.json()["details"] == {"staff": ["「职工总数」（staff）应为整数，收到「许多」"]}


def test_api_entitlements_only_the_users_own(client, people, matched):
    assert client.get("/api/v1/policies/entitlements").json()["count"] == 0  # anonymous
    client.force_login(people.rival_member)
    found = client.get("/api/v1/policies/entitlements").json()["results"]
    assert {e["organization"] for e in found} == {"濉溪示例锂电有限公司"}
    client.force_login(people.acme_member)
    found = client.get("/api/v1/policies/entitlements?status=eligible").json()["results"]
    assert [e["clause"] for e in found] == ["huaibei.hte_new_reward"]


def test_api_application_create_and_late_submit(client, people, notice):
    client.force_login(people.acme_member)
    created = post_json(
        client,
        "/api/v1/policies/applications",
        {"notice": notice.pk, "organization": people.acme.pk, "facts": {"instrument_sharing_spend": "1000"}},
    )
    assert created.status_code == 201
    app_id = created.json()["id"]
    late = client.post(f"/api/v1/policies/applications/{app_id}/submit")  # today is after 2025-06-30
    assert late.status_code == 400
    assert late.json()["code"] == "notice_closed"
    assert Application.objects.get(pk=app_id).status == "draft"

    client.force_login(people.rival_member)
    assert client.post(f"/api/v1/policies/applications/{app_id}/submit").status_code == 404


def test_a_new_notice_shows_on_the_cached_public_policy_page_at_once(client, people, notice):
    # Given an anonymous visitor whose copy of the policy page is cached
    from techtransfer.policies import services

    url = f"/policies/{notice.policy.pk}/"
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"
    # When the bureau publishes a notice for that policy
    services.notice_create(
        actor=people.platform_admin,
        policy=notice.policy,
        fields={
            "clause": notice.clause,
            "title": "关于申报2026年度大型科研仪器共享补助的通知",
            "period": 2026,
            "opens_on": datetime.date(2026, 5, 1),
            "closes_on": datetime.date(2026, 6, 30),
        },
    )
    # Then the next anonymous request renders it afresh and shows the notice
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "关于申报2026年度大型科研仪器共享补助的通知" in response.content.decode()
