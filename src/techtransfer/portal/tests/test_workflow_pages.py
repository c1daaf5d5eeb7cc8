"""Writing through the pages: create and edit forms, workflow buttons, refused writes, the workspace."""

import pytest
from django.utils import timezone

from techtransfer.achievements.models import Achievement
from techtransfer.audit.models import Event
from techtransfer.core.tests.factories import AchievementFactory, DemandFactory, ExpertFactory
from techtransfer.demands.models import Demand

from .helpers import field_errors, headings, listed_titles, messages, options, page, text, timeline

pytestmark = pytest.mark.django_db


def buttons(response) -> list[str]:
    import re

    return [
        text(b)
        for b in re.findall(
            r'<form method="post" action="[^"]*/actions/[^"]*".*?<button[^>]*>(.*?)</button>', page(response), re.S
        )
    ]


DEMAND_FORM = {
    "title": "氢能燃料电池膜电极批量制备",
    "description": "寻求膜电极一致性控制技术，合作开发中试线。",
    "fields": ["new_energy", "new_materials"],
    "industry": "3841",
    "budget": "800000",
    "deadline": "2030-06-30",
    "cooperation_modes": ["co_development"],
    "is_bottleneck": "on",
    "contact_name": "王工",
    "contact_phone": "13955556666",
    "contact_email": "wang@example.com",
}


def test_full_workflow_through_the_pages(client, people):
    # Given a member of acme, who creates a demand through the form
    client.force_login(people.acme_member)
    form = client.get("/demands/new/")
    assert headings(form) == ["登记技术需求"]
    assert options(form, "organization") == ["---------", people.acme.name]
    response = client.post("/demands/new/", {**DEMAND_FORM, "organization": people.acme.pk})
    demand = Demand.objects.get(title="氢能燃料电池膜电极批量制备")
    assert response.status_code == 302 and response["Location"] == f"/demands/{demand.pk}/"
    assert (demand.status, demand.fields, demand.cooperation_modes) == (
        "draft",
        ",new_energy,new_materials,",
        ",co_development,",
    )
    assert (demand.region.name, demand.is_bottleneck, str(demand.budget)) == ("相山区", True, "800000.00")
    # The anonymous public does not see the draft
    client.logout()
    assert listed_titles(client.get("/demands/")) == []
    assert client.get(f"/demands/{demand.pk}/").status_code == 404

    # When the member submits it for review
    client.force_login(people.acme_member)
    assert buttons(client.get(f"/demands/{demand.pk}/")) == ["提交审核"]
    response = client.post(f"/demands/{demand.pk}/actions/submit/", follow=True)
    assert messages(response) == ["操作成功：提交审核"]
    # and the 相山区 administrator approves it
    client.force_login(people.xiangshan_admin)
    assert buttons(client.get(f"/demands/{demand.pk}/")) == ["审核通过", "退回修改"]
    client.post(f"/demands/{demand.pk}/actions/approve/", {"comment": "同意发布"})
    # and the member publishes it
    client.force_login(people.acme_member)
    assert buttons(client.get(f"/demands/{demand.pk}/")) == ["发布"]
    client.post(f"/demands/{demand.pk}/actions/publish/")

    # Then it appears on the anonymous list, with its timeline
    client.logout()
    assert listed_titles(client.get("/demands/")) == ["氢能燃料电池膜电极批量制备"]
    detail = client.get(f"/demands/{demand.pk}/")
    assert [entry.split(" ", 2)[2] for entry in timeline(detail)] == [
        "创建 → 草稿",
        "提交审核 草稿 → 待审核",
        "审核通过 待审核 → 审核通过",
        "发布 审核通过 → 已发布",
    ]
    assert list(
        Event.objects.filter(target_id=str(demand.pk), action="transition")
        .order_by("id")
        .values_list("actor_name", "to_status")
    ) == [("acme_member", "submitted"), ("xiangshan_admin", "approved"), ("acme_member", "published")]


def test_return_needs_a_comment_and_shows_it_to_the_owner(client, people):
    demand = DemandFactory(organization=people.acme, status="submitted")
    client.force_login(people.xiangshan_admin)
    detail = page(client.get(f"/demands/{demand.pk}/"))
    assert '<textarea id="comment-return" name="comment" rows="2" required></textarea>' in detail
    refused = client.post(f"/demands/{demand.pk}/actions/return/", {"comment": "  "}, follow=True)
    assert messages(refused) == ["退回时必须填写审核意见"]
    demand.refresh_from_db()
    assert demand.status == "submitted"

    client.post(f"/demands/{demand.pk}/actions/return/", {"comment": "请补充预算测算依据"})
    demand.refresh_from_db()
    assert (demand.status, demand.review_comment) == ("returned", "请补充预算测算依据")
    client.force_login(people.acme_member)
    own = page(client.get(f"/demands/{demand.pk}/"))
    assert '<div class="callout callout-warn"><strong>审核意见：</strong>请补充预算测算依据</div>' in own


def test_a_forbidden_workflow_post_changes_nothing(client, people):
    submitted = DemandFactory(organization=people.acme, status="submitted")
    on_show = DemandFactory(organization=people.acme, status="published", published_at=timezone.now())
    record_events = Event.objects.exclude(action__in=["login", "logout"])
    events = record_events.count()

    # A draft of another enterprise is invisible: 404
    client.force_login(people.rival_member)
    assert client.post(f"/demands/{submitted.pk}/actions/approve/").status_code == 404
    # Another county's administrator cannot see it either
    client.force_login(people.suixi_admin)
    assert client.post(f"/demands/{submitted.pk}/actions/approve/").status_code == 404
    # The owner sees it but may not approve their own demand: 403
    client.force_login(people.acme_member)
    refused = client.post(f"/demands/{submitted.pk}/actions/approve/")
    assert refused.status_code == 403
    assert headings(refused) == ["没有权限"]
    # A published demand is visible to everyone, but only its owners and reviewers may withdraw it
    client.force_login(people.rival_member)
    assert client.post(f"/demands/{on_show.pk}/actions/withdraw/").status_code == 403
    # Anonymous writes go to the login page
    client.logout()
    response = client.post(f"/demands/{on_show.pk}/actions/withdraw/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # and a GET is not a workflow step at all
    client.force_login(people.acme_admin)
    assert client.get(f"/demands/{on_show.pk}/actions/withdraw/").status_code == 405

    submitted.refresh_from_db()
    on_show.refresh_from_db()
    assert (submitted.status, on_show.status) == ("submitted", "published")
    assert record_events.count() == events


def test_a_forbidden_edit_changes_nothing(client, people):
    draft = AchievementFactory(organization=people.acme, title="原标题")
    on_show = AchievementFactory(organization=people.acme, status="published", published_at=timezone.now())
    client.force_login(people.rival_member)
    assert client.get(f"/achievements/{draft.pk}/edit/").status_code == 404
    assert client.post(f"/achievements/{draft.pk}/edit/", {"title": "篡改"}).status_code == 404
    assert client.post(f"/achievements/{on_show.pk}/edit/", {"title": "篡改"}).status_code == 403
    draft.refresh_from_db()
    assert draft.title == "原标题"
    assert not Event.objects.filter(action="update").exists()


def test_published_record_cannot_be_edited_in_place(client, people):
    on_show = AchievementFactory(organization=people.acme, status="published", published_at=timezone.now())
    client.force_login(people.acme_member)
    response = client.get(f"/achievements/{on_show.pk}/edit/", follow=True)
    assert messages(response) == ["当前状态不允许修改"]
    assert "/edit/" not in page(response).split('<section class="actions"')[-1].split("</section>")[0]


ACHIEVEMENT_FORM = {
    "title": "陶铝复合材料活塞",
    "abstract": "原位自生陶铝复合材料制备的发动机活塞。",
    "keywords": "陶铝，复合材料、活塞",
    "kind": "applied",
    "stage": "mature",
    "readiness_level": "7",
    "high_tech_field": "new_materials",
    "industry": "3311",
    "ip_items": "发明专利 ZL202310123456.6 一种陶铝活塞的制备方法\n软件著作权 2023SR0123456",
    "owners": "淮北示例陶铝科技有限公司\n淮北师范大学",
    "completers": "张三、李四",
    "transfer_modes": ["transfer", "license"],
    "asking_price": "1200000",
    "pricing_method": "agreement",
}


def test_create_form_parses_lists_ip_items_and_check_boxes(client, people):
    client.force_login(people.acme_member)
    response = client.post("/achievements/new/", {**ACHIEVEMENT_FORM, "organization": people.acme.pk})
    assert response.status_code == 302
    record = Achievement.objects.get(title="陶铝复合材料活塞")
    assert record.keywords == ["陶铝", "复合材料", "活塞"]
    assert record.owners == ["淮北示例陶铝科技有限公司", "淮北师范大学"]
    assert record.completers == ["张三", "李四"]
    assert record.transfer_modes == ",transfer,license,"
    assert record.ip_items == [
        {"kind": "invention", "number": "ZL202310123456.6", "title": "一种陶铝活塞的制备方法"},
        {"kind": "software", "number": "2023SR0123456"},
    ]
    assert (record.created_by, record.organization, record.status) == (people.acme_member, people.acme, "draft")
    # The edit form shows the same text back
    edit = page(client.get(f"/achievements/{record.pk}/edit/"))
    assert "发明专利 ZL202310123456.6 一种陶铝活塞的制备方法\n软件著作权 2023SR0123456</textarea>" in edit
    assert 'value="license" id="id_transfer_modes_1" checked' in edit


def test_service_errors_appear_on_the_form_fields(client, people):
    client.force_login(people.acme_member)
    bad = {
        **ACHIEVEMENT_FORM,
        "organization": people.acme.pk,
        "ip_items": "发明专利 ZL202310123456.7",
        "readiness_level": "12",
    }
    response = client.post("/achievements/new/", bad)
    assert response.status_code == 200
    assert field_errors(response, "ip_items") == ["专利号校验位错误：ZL202310123456.7（校验位应为 6）"]
    assert field_errors(response, "readiness_level") == ["确保该值小于或等于9。"]
    assert not Achievement.objects.filter(title="陶铝复合材料活塞").exists()


def test_unknown_ip_kind_is_reported_by_line(client, people):
    client.force_login(people.acme_member)
    response = client.post(
        "/achievements/new/",
        {**ACHIEVEMENT_FORM, "organization": people.acme.pk, "ip_items": "发明专利 ZL202310123456.6\n商标 123"},
    )
    assert field_errors(response, "ip_items") == [
        "第 2 行：不认识的知识产权类型“商标”（可用：发明专利、实用新型专利、外观设计专利、软件著作权、其他）"
    ]


def test_members_choose_among_their_organizations_and_scouts_among_all(client, people):
    client.force_login(people.scout)
    choices = options(client.get("/demands/new/"), "organization")
    assert people.acme.name in choices and people.rival.name in choices
    # a member cannot slip in another organization's id
    client.force_login(people.acme_member)
    response = client.post("/demands/new/", {**DEMAND_FORM, "organization": people.rival.pk})
    assert response.status_code == 200
    assert field_errors(response, "organization") == ["选择一个有效的选项： 该选择不在可用的选项中。"]
    assert not Demand.objects.exists()


def test_someone_without_organization_cannot_create(client, people):
    client.force_login(people.outsider)
    response = client.get("/demands/new/")
    assert response.status_code == 403
    assert "您还不属于任何单位，不能登记技术需求" in page(response)


def test_edit_saves_only_what_changed_and_logs_it(client, people):
    record = ExpertFactory(organization=people.acme, name="王教授", fields=",advanced_manufacturing,")
    client.force_login(people.acme_admin)
    form = client.get(f"/experts/{record.pk}/edit/")
    assert headings(form) == ["修改专家"]
    data = {
        "name": "王教授",
        "title": "教授",
        "discipline": "",
        "fields": ["advanced_manufacturing"],
        "expertise": "特种机器人控制",
        "bio": "",
        "can_review": "on",
        "organization": people.acme.pk,
        "region": record.region_id,
        "contact_name": "李老师",
        "contact_phone": "13800001111",
        "contact_email": "li@example.com",
    }
    response = client.post(f"/experts/{record.pk}/edit/", data, follow=True)
    assert messages(response) == ["修改已保存。"]
    event = Event.objects.get(target_id=str(record.pk), action="update")
    assert event.changes == {"title": ["", "教授"]}
    assert timeline(response)[-1].endswith(f"{people.acme_admin} 修改 修改了：职称")


def test_workspace_shows_each_role_its_tasks(client, people):
    draft = DemandFactory(organization=people.acme, title="草稿需求")
    returned = AchievementFactory(organization=people.acme, title="退回成果", status="returned")
    waiting = DemandFactory(organization=people.acme, title="待审需求", status="submitted")
    approved = DemandFactory(organization=people.acme, title="待发布需求", status="approved")
    DemandFactory(organization=people.rival, title="濉溪待审需求", status="submitted")

    client.force_login(people.acme_member)
    mine = client.get("/workspace/")
    assert headings(mine) == ["我的工作台"]
    assert headings(mine, 2) == ["新建登记", "草稿与退回 2", "审核通过，待发布 1", "已提交，审核中 1", "我发布的"]
    assert set(listed_titles(mine)) == {draft.title, returned.title, waiting.title, approved.title}
    assert "审计日志" not in page(mine)

    client.force_login(people.xiangshan_admin)
    review = client.get("/workspace/")
    assert headings(review, 2)[1] == "待我审核 1"
    assert "待审需求" in page(review) and "濉溪待审需求" not in page(review)

    client.force_login(people.auditor)
    audit = client.get("/workspace/")
    assert '<a class="button" href="/audit/">审计日志</a>' in page(audit)


def test_audit_log_for_auditors_only(client, people):
    from techtransfer.core.services import record_transition

    demand = DemandFactory(organization=people.acme, title="审计样例需求")
    record_transition(obj=demand, actor=people.acme_member, action="submit")
    for who in ("acme_member", "xiangshan_admin", "scout"):
        client.force_login(getattr(people, who))
        assert client.get("/audit/").status_code == 404
    client.logout()
    assert client.get("/audit/")["Location"].startswith("/accounts/login/")

    client.force_login(people.auditor)
    response = client.get("/audit/?action=transition&actor=acme_member")
    assert headings(response) == ["审计日志"]
    html = page(response)
    assert "共 1 条" in html
    assert f'<a href="/demands/{demand.pk}/">审计样例需求</a>' in html
    assert "草稿 → 待审核" in html
    assert "共 0 条" in page(client.get("/audit/?action=login_failed"))
    client.force_login(people.platform_admin)
    admin_view = client.get("/audit/?action=transition&actor=acme_member")
    assert (admin_view.status_code, headings(admin_view)) == (200, ["审计日志"])
    assert "共 1 条" in page(admin_view)
