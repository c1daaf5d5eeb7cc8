"""Exports list what the user may see, filtered like the list pages, with contacts masked, and re-import."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from techtransfer.audit.models import Event
from techtransfer.core.tests.factories import (
    AchievementFactory,
    DemandFactory,
    ExpertFactory,
    InstrumentFactory,
    OrganizationFactory,
)
from techtransfer.exchange.services import export_file, import_file

from .helpers import headers, read_csv, read_xlsx

DEMAND_HEADERS = [
    "需求名称*",
    "需求描述*",
    "技术领域",
    "国民经济行业",
    "预算（元）",
    "截止日期",
    "合作方式",
    "卡脖子技术",
    "所属单位",
    "所属区域",
    "联系人",
    "联系电话",
    "联系邮箱",
]


def published(days_ago: int) -> dict:
    return {"status": "published", "published_at": timezone.now() - datetime.timedelta(days=days_ago)}


@pytest.mark.django_db
def test_anonymous_export_of_demands_lists_only_published_rows_with_masked_contacts(client, people):
    # Given two published demands and drafts of both enterprises
    DemandFactory(organization=people.acme, title="氢能燃料电池膜电极", budget="800000.00", **published(2))
    DemandFactory(
        organization=people.rival,
        title="智慧矿井巡检机器人",
        is_bottleneck=True,
        deadline=datetime.date(2026, 3, 31),
        industry_id="3841",
        **published(1),
    )
    DemandFactory(organization=people.acme, title="草稿需求")
    DemandFactory(organization=people.rival, title="待审核需求", status="submitted")
    # When an anonymous visitor exports the demand list as CSV
    response = client.get("/exchange/export/demands/?format=csv")
    # Then only the published demands come out, newest first, phones and e-mails masked
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert read_csv(response.content) == [
        DEMAND_HEADERS,
        [
            "智慧矿井巡检机器人",
            "需要提高磷酸铁锂正极材料的压实密度。",
            "新能源与节能",
            "3841",
            "",
            "2026-03-31",
            "合作开发",
            "是",
            "濉溪示例锂电有限公司",
            "濉溪县",
            "李老师",
            "138****1111",
            "l***@example.com",
        ],
        [
            "氢能燃料电池膜电极",
            "需要提高磷酸铁锂正极材料的压实密度。",
            "新能源与节能",
            "",
            "800000.00",
            "",
            "合作开发",
            "否",
            "淮北示例陶铝科技有限公司",
            "相山区",
            "李老师",
            "138****1111",
            "l***@example.com",
        ],
    ]
    # And the export is in the audit log
    event = Event.objects.get(action="export")
    assert (event.actor, event.summary) == (None, "导出技术需求 2 行")
    assert event.changes == {"kind": "demands", "filters": {}, "q": "", "ordering": "", "format": "csv", "rows": 2}


@pytest.mark.django_db
def test_export_uses_the_list_page_filters_and_shows_own_contacts(client, people):
    # Given published achievements of both enterprises and a draft of acme
    AchievementFactory(organization=people.acme, title="陶铝活塞", readiness_level=7, **published(3))
    AchievementFactory(organization=people.acme, title="陶铝草稿", readiness_level=8)
    AchievementFactory(organization=people.rival, title="锂电隔膜", readiness_level=9, **published(1))
    AchievementFactory(organization=people.acme, title="早期探索", readiness_level=2, **published(2))
    client.force_login(people.acme_member)
    # When acme's member exports with the list page's query string
    response = client.get("/exchange/export/achievements/?readiness_min=6&ordering=title&page=2")
    # Then the filter applies, drafts they may see are included, and only their own rows show contacts
    assert response.status_code == 200
    rows = read_xlsx(response.content)
    assert rows[0] == headers("achievements")
    title, org, phone = 0, rows[0].index("所属单位"), rows[0].index("联系电话")
    assert [(r[title], r[org], r[phone]) for r in rows[1:]] == [
        ("锂电隔膜", "濉溪示例锂电有限公司", "138****1111"),
        ("陶铝活塞", "淮北示例陶铝科技有限公司", "13800001111"),
        ("陶铝草稿", "淮北示例陶铝科技有限公司", "13800001111"),
    ]
    event = Event.objects.get(action="export")
    assert event.actor == people.acme_member
    assert event.changes["filters"] == {"readiness_min": "6"}
    assert event.changes["rows"] == 3


@pytest.mark.django_db
def test_export_keyword_search_and_unknown_format(client, people):
    AchievementFactory(organization=people.acme, title="陶铝活塞", **published(1))
    AchievementFactory(organization=people.acme, title="锂电隔膜", **published(2))
    rows = read_xlsx(client.get("/exchange/export/achievements/?q=活塞").content)
    assert [r[0] for r in rows[1:]] == ["陶铝活塞"]
    response = client.get("/exchange/export/achievements/?format=pdf")
    assert (response.status_code, response.content.decode()) == (400, "导出格式只能是 xlsx 或 csv")
    assert client.get("/exchange/export/vouchers/").status_code == 404
    for bad in ("readiness_min=abc", "industry=C&readiness_max=9.5"):
        response = client.get(f"/exchange/export/achievements/?{bad}")
        assert (response.status_code, response.content.decode()) == (400, "筛选条件不正确，请检查数字和日期的写法")
    response = client.get("/exchange/export/demands/?deadline_after=明天")
    assert response.status_code == 400
    assert Event.objects.filter(action="export").count() == 1


@pytest.mark.django_db
def test_export_queries_do_not_grow_with_rows(people):
    def queries_for(count: int) -> int:
        for _ in range(count):
            AchievementFactory(organization=people.acme, industry_id="3841", **published(1))
        with CaptureQueriesContext(connection) as captured:
            result = export_file(kind="achievements", user=people.acme_member, file_format="csv")
        assert result.rows == Event.objects.filter(action="export").order_by("id").last().changes["rows"]
        return len(captured)

    export_file(kind="achievements", user=people.acme_member)  # loads the user's roles once
    assert queries_for(2) == queries_for(6) == 3  # the list, the editable ids of the page, the audit event


@pytest.mark.django_db
def test_organizations_export_lists_visible_ones_with_masked_contacts(people):
    OrganizationFactory(name="未公开的单位", is_public=False, region=people.rival.region)
    result = export_file(kind="organizations", user=None, file_format="csv")
    rows = read_csv(result.content)
    assert rows[0] == headers("organizations")
    assert [(r[0], r[3], r[9]) for r in rows[1:]] == [
        ("淮北示例陶铝科技有限公司", "相山区", "139****5678"),
        ("濉溪示例锂电有限公司", "濉溪县", "139****5678"),
    ]
    # The region's administrator sees the unpublished one, and the contacts of what they manage
    result = export_file(kind="organizations", user=people.suixi_admin, filters={"region": "340621"}, file_format="csv")
    assert [(r[0], r[9]) for r in read_csv(result.content)[1:]] == [
        ("未公开的单位", "13912345678"),
        ("濉溪示例锂电有限公司", "13912345678"),
    ]


def _full_achievement(organization, title):
    return AchievementFactory(
        organization=organization,
        title=title,
        stage="middle",
        discipline="材料科学",
        industry_id="3841",
        ip_items=[
            {"kind": "invention", "number": "ZL202310123456.6", "title": "一种陶铝复合材料"},
            {"kind": "software", "number": "2023SR0123456"},
        ],
        owners=["淮北示例陶铝科技有限公司", "淮北师范大学"],
        completers=["张三", "李四"],
        asking_price="1200000.00",
        pricing_method="listing",
        contact_email="",
        source='=HYPERLINK("http://example.com")',
    )


ROUND_TRIPS = {
    "achievements": lambda p: [_full_achievement(p.acme, "陶铝活塞"), _full_achievement(p.rival, "锂电隔膜")],
    "demands": lambda p: [
        DemandFactory(organization=p.acme, budget="12.50", deadline=datetime.date(2026, 1, 2), is_bottleneck=True),
        DemandFactory(organization=p.rival, industry_id="C", fields=",new_energy,new_materials,"),
    ],
    "experts": lambda p: [ExpertFactory(organization=p.acme, title="教授", bio="长期从事机器人研究", can_review=False)],
    "instruments": lambda p: [
        InstrumentFactory(organization=p.rival, original_value="3500000.00", fee="300.00", is_shared=False),
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", sorted(ROUND_TRIPS))
def test_export_then_import_round_trip(people, kind, file_format):
    # Given records of two organizations
    originals = ROUND_TRIPS[kind](people)
    model = type(originals[0])
    # When the platform administrator exports them and imports the file again
    exported = export_file(kind=kind, user=people.platform_admin, file_format=file_format)
    report = import_file(
        kind=kind, user=people.platform_admin, file_name=exported.name, data=exported.content, dry_run=False
    )
    # Then every row comes back as a copy with the same content
    assert (report.ok, report.lines, report.created) == (True, [], len(originals))
    assert model.objects.count() == 2 * len(originals)
    again = export_file(kind=kind, user=people.platform_admin, file_format=file_format)
    reader = read_csv if file_format == "csv" else read_xlsx
    first_rows, second_rows = reader(exported.content), reader(again.content)
    assert sorted(map(tuple, second_rows[1:])) == sorted(map(tuple, first_rows[1:] * 2))


@pytest.mark.django_db
def test_formula_like_text_is_never_a_formula(people):
    _full_achievement(people.acme, "陶铝活塞").__class__.objects.update(status="published")
    rows = read_xlsx(export_file(kind="achievements", user=None).content)
    assert rows[1][headers("achievements").index("数据来源")] == '=HYPERLINK("http://example.com")'
    csv_rows = read_csv(export_file(kind="achievements", user=None, file_format="csv").content)
    assert csv_rows[1][headers("achievements").index("数据来源")] == '\'=HYPERLINK("http://example.com")'
