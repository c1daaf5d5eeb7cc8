"""The public pages: home, lists with filters, details, organizations — in Chinese, with exact contents."""

import datetime
import decimal

import pytest
from django.utils import timezone

from techtransfer.core.registry import KINDS
from techtransfer.core.tests.factories import (
    REGISTRY_FACTORIES,
    AchievementFactory,
    DemandFactory,
    InstrumentFactory,
    region,
)
from techtransfer.organizations.models import Certification, OrganizationFacts

from .helpers import field_value, figure, headings, listed_titles, options, page, text, timeline

pytestmark = pytest.mark.django_db

FACTORY_BY_SLUG = {
    "achievements": REGISTRY_FACTORIES["achievement"],
    "demands": REGISTRY_FACTORIES["demand"],
    "experts": REGISTRY_FACTORIES["expert"],
    "commissioners": REGISTRY_FACTORIES["commissioner"],
    "instruments": REGISTRY_FACTORIES["instrument"],
    "pilotbases": REGISTRY_FACTORIES["pilotbase"],
}


def published(factory, **kwargs):
    return factory(status="published", published_at=kwargs.pop("published_at", timezone.now()), **kwargs)


# ---------------------------------------------------------------- home


def test_home_shows_key_figures_chart_and_latest(client, people):
    # Given published and unpublished records of several kinds
    now = timezone.now()
    for i in range(2):
        published(AchievementFactory, organization=people.acme, title=f"陶铝成果{i}", published_at=now)
    published(AchievementFactory, organization=people.rival, high_tech_field="new_energy", title="锂电成果")
    AchievementFactory(organization=people.acme, title="草稿成果")
    published(DemandFactory, organization=people.acme, budget=decimal.Decimal("1000000"), title="开放需求甲")
    published(DemandFactory, organization=people.acme, budget=decimal.Decimal("505000"), is_bottleneck=True)
    published(
        DemandFactory,
        organization=people.rival,
        budget=decimal.Decimal("9990000"),
        deadline=datetime.date(2020, 1, 1),  # closed: not in the open budget
    )
    published(InstrumentFactory, organization=people.acme)

    # When anyone opens the home page
    response = client.get("/")

    # Then the figures count published records only, in Chinese
    assert response.status_code == 200
    assert headings(response) == ["科技成果转移转化一站式服务平台"]
    assert headings(response, 2) == ["平台概况", "按高新技术领域分布", "最新科技成果", "最新技术需求"]
    assert figure(response, "已发布科技成果") == "3"
    assert figure(response, "已发布技术需求") == "3"
    assert figure(response, "已发布大型仪器") == "1"
    assert figure(response, "已发布专家") == "0"
    assert figure(response, "入驻单位") == "2"  # acme and rival
    assert figure(response, "在征需求总预算（万元，2 项）") == "150.50"
    assert figure(response, "“卡脖子”技术需求") == "1"
    html = page(response)
    # the bar chart: 3 demands in new energy are the longest bar; 2 achievements in new materials are 2/3 of it
    assert '<a href="/achievements/?field=new_materials">新材料</a>' in html
    assert '<span class="bar bar-d w-100"></span><span class="bar-num">3</span>' in html
    assert '<span class="bar bar-a w-67"></span><span class="bar-num">2</span>' in html
    assert '<span class="bar bar-a w-33"></span><span class="bar-num">1</span>' in html
    assert "草稿成果" not in html
    assert "开放需求甲" in html


def test_home_runs_the_same_queries_whatever_the_data(client, people, django_assert_num_queries):
    def measure():
        from django.core.cache import caches
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        caches["pages"].clear()
        caches["default"].clear()  # the key figures are cached per content version
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    published(AchievementFactory, organization=people.acme)
    few = measure()
    for _ in range(12):
        published(AchievementFactory, organization=people.acme)
        published(DemandFactory, organization=people.rival)
    assert measure() == few
    # page-cache version; four registry counts; one demand aggregate; one group-by field;
    # organizations; the two latest lists
    assert few == 10


# ---------------------------------------------------------------- lists


@pytest.mark.parametrize("slug", list(KINDS))
def test_every_list_renders_in_chinese_with_published_records_only(client, people, slug):
    factory = FACTORY_BY_SLUG[slug]
    shown = published(factory, organization=people.acme)
    hidden = factory(organization=people.acme)
    response = client.get(f"/{slug}/")
    assert response.status_code == 200
    assert headings(response) == [KINDS[slug].label]
    title_field = KINDS[slug].title_field
    assert listed_titles(response) == [getattr(shown, title_field)]
    assert getattr(hidden, title_field) not in page(response)
    assert "共 1 条" in page(response)


def test_unknown_registry_is_404_in_chinese(client):
    response = client.get("/inventions/")
    assert response.status_code == 404
    assert headings(response) == ["页面不存在"]


@pytest.fixture
def achievements(people):
    """Four published achievements that differ in one filter each, and one draft."""
    return {
        "hit": published(
            AchievementFactory,
            organization=people.acme,
            title="锂离子电池隔膜",
            readiness_level=7,
            industry_id="3841",
            high_tech_field="new_energy",
            transfer_modes=",license,",
        ),
        "low_trl": published(
            AchievementFactory,
            organization=people.acme,
            title="电池回收工艺",
            readiness_level=3,
            industry_id="3841",
            high_tech_field="new_energy",
            transfer_modes=",license,",
        ),
        "other_region": published(
            AchievementFactory,
            organization=people.rival,
            title="电池隔膜涂层",
            readiness_level=8,
            industry_id="3841",
            high_tech_field="new_energy",
            transfer_modes=",license,",
        ),
        "other_field": published(
            AchievementFactory,
            organization=people.acme,
            title="陶铝活塞",
            readiness_level=8,
            industry_id="3311",
            high_tech_field="new_materials",
            transfer_modes=",transfer,",
        ),
        "draft": AchievementFactory(
            organization=people.acme, title="电池隔膜草稿", readiness_level=9, high_tech_field="new_energy"
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["锂离子电池隔膜", "电池回收工艺", "电池隔膜涂层", "陶铝活塞"]),
        ("?field=new_materials", ["陶铝活塞"]),
        ("?industry=C", ["锂离子电池隔膜", "电池回收工艺", "电池隔膜涂层", "陶铝活塞"]),
        ("?industry=38", ["锂离子电池隔膜", "电池回收工艺", "电池隔膜涂层"]),
        ("?region=340603", ["锂离子电池隔膜", "电池回收工艺", "陶铝活塞"]),
        ("?region=340621", ["电池隔膜涂层"]),
        ("?readiness_min=7", ["锂离子电池隔膜", "电池隔膜涂层", "陶铝活塞"]),
        ("?readiness_max=7", ["锂离子电池隔膜", "电池回收工艺"]),
        ("?transfer_mode=transfer", ["陶铝活塞"]),
        ("?q=隔膜", ["锂离子电池隔膜", "电池隔膜涂层"]),
        ("?q=电池+隔膜&region=340603&readiness_min=6&transfer_mode=license&industry=C", ["锂离子电池隔膜"]),
        ("?status=draft", []),
        ("?ordering=title", ["电池回收工艺", "电池隔膜涂层", "锂离子电池隔膜", "陶铝活塞"]),
        ("?ordering=-readiness_level", ["陶铝活塞", "电池隔膜涂层", "锂离子电池隔膜", "电池回收工艺"]),
    ],
)
def test_achievement_filters_narrow_results_exactly(client, achievements, query, expected):
    response = client.get("/achievements/" + query)
    assert response.status_code == 200
    if query.startswith("?ordering"):
        assert listed_titles(response) == expected
    else:
        assert sorted(listed_titles(response)) == sorted(expected)


def test_a_filter_that_does_not_parse_is_shown_and_ignored(client, achievements):
    response = client.get("/achievements/?readiness_min=abc")
    assert len(listed_titles(response)) == 4
    assert '<span class="field-error">输入整数。</span>' in page(response)


def test_demand_filters_bottleneck_budget_and_cooperation(client, people):
    published(DemandFactory, organization=people.acme, title="卡脖子需求", is_bottleneck=True, budget=5_000_000)
    published(DemandFactory, organization=people.acme, title="普通需求", budget=200_000, cooperation_modes=",license,")
    assert listed_titles(client.get("/demands/?is_bottleneck=1")) == ["卡脖子需求"]
    assert listed_titles(client.get("/demands/?is_bottleneck=0")) == ["普通需求"]
    assert listed_titles(client.get("/demands/?budget_min=1000000")) == ["卡脖子需求"]
    assert listed_titles(client.get("/demands/?cooperation_mode=license")) == ["普通需求"]


def test_status_options_are_only_those_the_user_can_see(client, people, achievements):
    # The public sees published records only: there is no status to choose.
    anonymous = client.get("/achievements/")
    assert 'name="status"' not in page(anonymous)
    # A member of acme can see its draft as well, and filter on it.
    client.force_login(people.acme_member)
    member = client.get("/achievements/")
    assert options(member, "status") == ["不限", "草稿", "已发布"]
    assert listed_titles(client.get("/achievements/?status=draft")) == ["电池隔膜草稿"]
    # Someone from another enterprise sees only what is published: again no status to choose.
    client.force_login(people.rival_member)
    assert 'name="status"' not in page(client.get("/achievements/"))
    assert listed_titles(client.get("/achievements/?status=draft")) == []


def test_filter_form_lists_the_region_tree_and_industries(client, people):
    response = client.get("/achievements/")
    assert options(response, "region") == [
        "不限",
        "淮北市",
        "\u3000相山区",
        "\u3000杜集区",
        "\u3000烈山区",
        "\u3000濉溪县",
        "\u3000淮北高新技术产业开发区",
        "\u3000安徽（淮北）新型煤化工合成材料基地",
    ]
    industries = options(response, "industry")
    assert industries[:3] == ["不限", "A 农、林、牧、渔业", "\u300001 农业"]
    assert "C 制造业" in industries and "\u300038 电气机械和器材制造业" in industries


def test_pagination_shows_twenty_per_page(client, people):
    for i in range(25):
        published(AchievementFactory, organization=people.acme, title=f"成果{i:02d}")
    first = client.get("/achievements/?ordering=title")
    assert len(listed_titles(first)) == 20
    assert "共 25 条，第 1/2 页" in text(page(first))
    second = client.get("/achievements/?ordering=title&page=2")
    assert listed_titles(second) == [f"成果{i:02d}" for i in range(20, 25)]
    assert 'href="?ordering=title&amp;page=1"' in page(second)


def test_htmx_request_gets_only_the_results(client, achievements):
    # Given the filter form, which refreshes only the results when a filter changes
    form = page(client.get("/achievements/"))
    assert 'hx-get="/achievements/" hx-target="#results" hx-select="#results" hx-swap="outerHTML"' in form
    assert 'hx-push-url="true" hx-trigger="change, submit"' in form
    # When htmx asks for a filtered list, the answer is the results section alone
    partial = client.get("/achievements/?field=new_materials", headers={"HX-Request": "true"})
    html = page(partial)
    assert html.startswith('<section id="results"')
    assert "<html" not in html
    assert listed_titles(partial) == ["陶铝活塞"]
    assert "HX-Request" in partial["Vary"]
    # and a full page already in the public page cache still holds the same #results for hx-select
    full = client.get("/achievements/?field=new_energy")
    cached = client.get("/achievements/?field=new_energy", headers={"HX-Request": "true"})
    assert cached["X-Page-Cache"] == "hit"
    assert '<section id="results"' in page(cached)
    assert listed_titles(cached) == listed_titles(full)


def test_export_link_carries_the_same_filters(client, achievements):
    response = client.get("/achievements/?field=new_energy&q=%E9%9A%94%E8%86%9C&page=1")
    assert 'href="/exchange/export/achievements/?field=new_energy&amp;q=%E9%9A%94%E8%86%9C">导出 Excel</a>' in page(
        response
    )


@pytest.mark.parametrize("slug", list(KINDS))
def test_list_queries_do_not_grow_with_the_page(client, people, slug):
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factory = FACTORY_BY_SLUG[slug]

    def measure(user):
        caches["pages"].clear()
        if user:
            client.force_login(user)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/{slug}/?region=340600")
        assert response.status_code == 200
        return len(ctx.captured_queries), len(listed_titles(response))

    published(factory, organization=people.acme)
    anonymous_few = measure(None)
    member_few = measure(people.acme_member)
    client.logout()
    for _ in range(24):
        published(factory, organization=people.acme)
        factory(organization=people.acme)
    anonymous_many = measure(None)
    member_many = measure(people.acme_member)
    assert (anonymous_few[1], anonymous_many[1], member_many[1]) == (1, 20, 20)
    assert anonymous_many[0] == anonymous_few[0]
    assert member_many[0] == member_few[0]


def test_list_query_count_is_pinned(client, people, django_assert_num_queries):
    """Anonymous list page: page-cache version, regions, industries, count, the page's ids, their rows."""
    for _ in range(21):
        published(AchievementFactory, organization=people.acme)
    with django_assert_num_queries(6):
        client.get("/achievements/")


# ---------------------------------------------------------------- details


def test_detail_shows_labels_choices_and_masked_contacts(client, people):
    record = published(
        AchievementFactory,
        organization=people.acme,
        title="原位自生陶铝复合材料",
        readiness_level=7,
        industry_id="3841",
        asking_price=decimal.Decimal("1250000"),
        pricing_method="agreement",
        ip_items=[{"kind": "invention", "number": "ZL202310123456.6", "title": "一种陶铝制备方法"}],
        owners=["淮北师范大学", "示例公司"],
        keywords=["陶铝", "复合材料"],
    )
    response = client.get(f"/achievements/{record.pk}/")
    assert response.status_code == 200
    assert headings(response) == ["原位自生陶铝复合材料"]
    assert '<span class="badge status-published">已发布</span>' in page(response)
    assert field_value(response, "成果类型") == "应用技术"
    assert field_value(response, "成熟阶段") == "成熟"
    assert field_value(response, "技术就绪度（TRL）") == "7"
    assert field_value(response, "高新技术领域") == "新材料"
    assert field_value(response, "转化方式") == "转让、许可"
    assert field_value(response, "国民经济行业") == "3841 锂离子电池制造"
    assert field_value(response, "意向价格（元）") == "1,250,000.00"
    assert field_value(response, "定价方式") == "协议定价"
    assert field_value(response, "知识产权") == "发明专利 ZL202310123456.6 一种陶铝制备方法"
    assert field_value(response, "成果权属单位（按贡献排序）") == "淮北师范大学、示例公司"
    assert field_value(response, "关键词") == "陶铝、复合材料"
    assert field_value(response, "所属单位") == people.acme.name
    assert field_value(response, "所属区域") == "相山区"
    # the public sees masked contacts; the owner sees them in full
    assert field_value(response, "联系电话") == "138****1111"
    assert field_value(response, "联系邮箱") == "l***@example.com"
    client.force_login(people.acme_member)
    own = client.get(f"/achievements/{record.pk}/")
    assert field_value(own, "联系电话") == "13800001111"
    assert field_value(own, "联系邮箱") == "li@example.com"


@pytest.mark.parametrize("slug", list(KINDS))
def test_forbidden_detail_is_the_same_404_as_a_missing_one(client, people, slug):
    draft = FACTORY_BY_SLUG[slug](organization=people.acme)
    client.force_login(people.rival_member)
    forbidden = client.get(f"/{slug}/{draft.pk}/")
    missing = client.get(f"/{slug}/{draft.pk + 1000}/")
    assert (forbidden.status_code, missing.status_code) == (404, 404)
    assert headings(forbidden) == headings(missing) == ["页面不存在"]
    client.force_login(people.acme_member)
    own = client.get(f"/{slug}/{draft.pk}/")
    assert (own.status_code, headings(own)) == (200, [getattr(draft, KINDS[slug].title_field)])


@pytest.mark.parametrize("slug", list(KINDS))
def test_recommendations_load_only_on_published_achievements_and_demands(client, people, slug):
    published = FACTORY_BY_SLUG[slug](organization=people.acme, status="published", published_at=timezone.now())
    draft = FACTORY_BY_SLUG[slug](organization=people.acme)
    client.force_login(people.acme_member)
    slot = f'hx-get="/matching/recommend/{slug}/{published.pk}/"'
    assert (slot in page(client.get(f"/{slug}/{published.pk}/"))) == (slug in {"achievements", "demands"})
    assert "recommendations-slot" not in page(client.get(f"/{slug}/{draft.pk}/"))


def test_public_timeline_hides_who_and_comments(client, people):
    from techtransfer.core.services import record_transition

    demand = DemandFactory(organization=people.acme)
    for actor, action in [
        (people.acme_member, "submit"),
        (people.xiangshan_admin, "return"),
        (people.acme_member, "submit"),
        (people.xiangshan_admin, "approve"),
        (people.acme_member, "publish"),
    ]:
        demand = record_transition(obj=demand, actor=actor, action=action, comment="请补充预算依据")
    public = timeline(client.get(f"/demands/{demand.pk}/"))
    assert [entry.split(" ", 2)[2] for entry in public] == [
        "提交审核 草稿 → 待审核",
        "退回修改 待审核 → 已退回",
        "提交审核 已退回 → 待审核",
        "审核通过 待审核 → 审核通过",
        "发布 审核通过 → 已发布",
    ]
    assert "请补充预算依据" not in page(client.get(f"/demands/{demand.pk}/"))
    client.force_login(people.acme_member)
    own = timeline(client.get(f"/demands/{demand.pk}/"))
    assert own[1].split(" ", 2)[2] == f"{people.xiangshan_admin} 退回修改 待审核 → 已退回 请补充预算依据"


# ---------------------------------------------------------------- organizations


def test_organization_list_and_detail_with_masked_contacts(client, people):
    Certification.objects.create(
        organization=people.acme,
        kind="high_tech_enterprise",
        number="GR202334001234",
        issued_on=datetime.date(2023, 10, 16),
        expires_on=datetime.date(2026, 10, 15),
    )
    OrganizationFacts.objects.create(
        organization=people.acme, year=2024, staff=120, revenue=decimal.Decimal("56780000")
    )
    published(DemandFactory, organization=people.acme)

    listing = client.get("/organizations/?region=340603")
    assert headings(listing) == ["单位"]
    assert people.acme.name in listed_titles(listing)
    assert people.rival.name not in listed_titles(listing)

    detail = client.get(f"/organizations/{people.acme.pk}/")
    assert headings(detail) == [people.acme.name]
    assert headings(detail, 2) == ["基本信息", "资质认定", "年度规模数据", "该单位的登记信息"]
    html = page(detail)
    assert '<td>高新技术企业</td><td class="mono">GR202334001234</td>' in html
    assert "<td>2024</td><td>120</td><td>—</td><td>5,678.00</td>" in html
    assert field_value(detail, "联系电话") == "139****5678"
    assert figure(detail, "技术需求") == "1"

    client.force_login(people.acme_admin)
    assert field_value(client.get(f"/organizations/{people.acme.pk}/"), "联系电话") == "13912345678"
    # a member (not an organization administrator) still sees the masked number
    client.force_login(people.acme_member)
    assert field_value(client.get(f"/organizations/{people.acme.pk}/"), "联系电话") == "139****5678"


def test_hidden_organization_is_404(client, people):
    people.rival.is_public = False
    people.rival.save(update_fields=["is_public"])
    assert client.get(f"/organizations/{people.rival.pk}/").status_code == 404
    client.force_login(people.suixi_admin)
    seen = client.get(f"/organizations/{people.rival.pk}/")
    assert (seen.status_code, headings(seen)) == (200, [people.rival.name])


def test_region_filter_includes_parks_under_the_city(client, people):
    published(AchievementFactory, organization=people.acme, region=region("340600-P01"), title="高新区成果")
    assert listed_titles(client.get("/achievements/?region=340600")) == ["高新区成果"]
    assert listed_titles(client.get("/achievements/?region=340603")) == []


def test_list_narrowed_to_one_organization_says_so(client, people):
    published(DemandFactory, organization=people.acme, title="甲方需求")
    published(DemandFactory, organization=people.rival, title="乙方需求")
    response = client.get(f"/demands/?organization={people.acme.pk}")
    assert listed_titles(response) == ["甲方需求"]
    assert f'仅显示单位：<a href="/organizations/{people.acme.pk}/">{people.acme.name}</a>' in page(response)


def test_htmx_history_restore_gets_the_full_page(client, achievements):
    response = client.get(
        "/achievements/?field=new_materials",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert page(response).startswith("<!doctype html>")
