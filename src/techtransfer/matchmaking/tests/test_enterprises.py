"""Achievement → enterprises (可能需要该成果的企业): ranked from published demands, profiles, codes and region,
explained in Chinese, and limited to what the user may see."""

import pytest
from django.urls import reverse

from techtransfer.core.tests.factories import (
    AchievementFactory,
    DemandFactory,
    MembershipFactory,
    OrganizationFactory,
    region,
)
from techtransfer.matchmaking import indexing, selectors


@pytest.fixture
def market(db):
    """A university's separator result (相山区, 电气机械 3841, 新能源) and the enterprises around it."""
    m = type("Market", (), {})()
    m.university = OrganizationFactory(name="相山示例理工大学", kind="university", region=region("340603"))
    m.achievement = AchievementFactory(
        organization=m.university,
        status="published",
        title="陶瓷涂覆锂电池隔膜制备技术",
        abstract="一种耐热陶瓷涂覆隔膜的连续涂覆工艺，提高锂电池安全性。",
        keywords=["锂电池", "隔膜", "陶瓷涂覆"],
        high_tech_field="new_energy",
        industry_id="3841",
    )
    # an enterprise in 濉溪县 that published a matching demand in the same 行业大类 and field
    m.battery = OrganizationFactory(
        name="濉溪示例电池有限公司", region=region("340621"), description="锂电池电芯制造。"
    )
    m.battery_demand = DemandFactory(
        organization=m.battery,
        status="published",
        title="陶瓷涂覆隔膜量产需求",
        description="需要耐热陶瓷涂覆隔膜的量产工艺，提高电芯安全性。",
        fields=",new_energy,",
        industry_id="3849",
    )
    # an enterprise of the same district whose profile names the technology, with no demand
    m.separator = OrganizationFactory(
        name="相山示例隔膜材料有限公司",
        region=region("340603"),
        description="专业生产锂电池隔膜，正在开发陶瓷涂覆产品。",
    )
    # an enterprise whose only matching demand is a draft, and whose profile says nothing of it
    m.drafting = OrganizationFactory(name="烈山示例化工有限公司", region=region("340604"), description="精细化学品。")
    m.draft_demand = DemandFactory(
        organization=m.drafting,
        status="draft",
        title="锂电池隔膜陶瓷涂覆浆料需求",
        description="陶瓷涂覆隔膜用浆料配方。",
        fields=",new_energy,",
        industry_id="3841",
    )
    # a non-public enterprise whose profile matches
    m.hidden = OrganizationFactory(
        name="杜集示例储能有限公司",
        region=region("340602"),
        description="锂电池隔膜涂覆加工。",
        is_public=False,
    )
    # an unrelated enterprise of the same district, and a research institute that mentions separators
    m.mill = OrganizationFactory(name="相山示例面粉有限公司", region=region("340603"), description="面粉加工。")
    m.institute = OrganizationFactory(
        name="示例隔膜研究所", kind="research_institute", region=region("340603"), description="锂电池隔膜研究。"
    )
    indexing.index_rebuild()
    return m


def ranked(results):
    return [(r.obj.name, r.explanation) for r in results]


def test_enterprises_are_ranked_and_explained(market, django_assert_num_queries):
    # enterprises, the demands among the index hits, their enterprises' codes, the industry's name
    with django_assert_num_queries(4):
        results = selectors.enterprises_for(achievement=market.achievement, user=None)
    assert ranked(results) == [
        (
            "濉溪示例电池有限公司",
            "需求《陶瓷涂覆隔膜量产需求》与本成果相关；共同词语：陶瓷、涂覆、隔膜、耐热、锂电池；"
            "行业：电气机械和器材制造业；同属高新技术领域：新能源与节能",
        ),
        ("相山示例隔膜材料有限公司", "共同词语：锂电池、陶瓷、涂覆、隔膜；同在相山区"),
    ]
    battery, separator = results
    assert battery.demand == market.battery_demand
    assert (battery.same_industry, battery.same_fields, battery.same_region) == (
        "电气机械和器材制造业",
        ["新能源与节能"],
        "",
    )
    assert separator.demand is None and separator.demand_score == 0.0
    # the documented rule, term by term
    for r in results:
        bonuses = 0.05 * bool(r.same_industry) + 0.05 * bool(r.same_fields) + 0.03 * bool(r.same_region)
        assert r.score == pytest.approx(0.6 * r.demand_score + 0.4 * r.profile_score + bonuses)
    assert 0 < separator.profile_score <= 1 and battery.demand_score > 0
    assert selectors.enterprises_for(achievement=market.achievement, user=None, k=1) == results[:1]


def test_a_draft_demand_never_contributes(market):
    # not to the public, and not even to the drafting enterprise's own member (who may see the draft)
    member = MembershipFactory(organization=market.drafting).user
    for user in (None, member):
        names = [r.obj.name for r in selectors.enterprises_for(achievement=market.achievement, user=user)]
        assert names == ["濉溪示例电池有限公司", "相山示例隔膜材料有限公司"]
    # a published demand that the platform returned to draft is still in the index, but no longer counts
    type(market.battery_demand).objects.filter(pk=market.battery_demand.pk).update(status="draft")
    results = selectors.enterprises_for(achievement=market.achievement, user=None)
    assert ranked(results) == [
        ("相山示例隔膜材料有限公司", "共同词语：锂电池、陶瓷、涂覆、隔膜；同在相山区"),
        ("濉溪示例电池有限公司", "共同词语：锂电池"),
    ]


def test_a_demand_sharing_only_a_common_word_is_no_evidence(market):
    # given forty published results that all say 工艺 (so it is in more than 5 % of the documents)
    for i in range(40):
        AchievementFactory(
            organization=market.university, status="published", title=f"小麦育种工艺{i}", abstract="育种工艺。"
        )
    brewery = OrganizationFactory(name="濉溪示例酒业有限公司", region=region("340621"), description="白酒酿造。")
    DemandFactory(organization=brewery, status="published", title="白酒酿造工艺优化", description="改进酿造工艺。")
    indexing.index_rebuild()
    # then the brewery's demand, which shares only 工艺 with the separator result, does not name the brewery
    names = [r.obj.name for r in selectors.enterprises_for(achievement=market.achievement, user=None)]
    assert names == ["濉溪示例电池有限公司", "相山示例隔膜材料有限公司"]


def test_non_public_enterprises_only_for_those_who_may_see_them(people, market):
    def names(user):
        return [r.obj.name for r in selectors.enterprises_for(achievement=market.achievement, user=user)]

    for user in (None, people.rival_member, people.suixi_admin, people.scout):
        assert "杜集示例储能有限公司" not in names(user)
    assert "杜集示例储能有限公司" in names(people.platform_admin)
    # never a research institute or university, and never the achievement's own organization
    assert "示例隔膜研究所" not in names(people.platform_admin)
    assert "相山示例理工大学" not in names(people.platform_admin)


def test_nothing_for_an_unpublished_achievement_or_before_the_index(market, index_location):
    type(market.achievement).objects.filter(pk=market.achievement.pk).update(status="withdrawn")
    market.achievement.refresh_from_db()
    assert selectors.enterprises_for(achievement=market.achievement, user=None) == []
    market.achievement.status = "published"
    (index_location / indexing.STAMP_FILE).unlink()
    assert selectors.enterprises_for(achievement=market.achievement, user=None) == []


def test_recommendations_for_an_achievement_have_the_enterprise_section(client, market):
    recs = selectors.recommendations_for(obj=market.achievement, user=None)
    assert list(recs) == ["demands", "enterprises"]
    html = client.get(
        reverse("matchmaking:recommend", args=["achievements", market.achievement.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert '<h3 id="recommend-enterprises">可能需要该成果的企业</h3>' in html
    assert "需求《陶瓷涂覆隔膜量产需求》与本成果相关；共同词语：陶瓷、涂覆、隔膜、耐热、锂电池；行业：" in html
    assert f'href="/organizations/{market.separator.pk}/">相山示例隔膜材料有限公司</a>' in html
    assert "杜集示例储能有限公司" not in html and "烈山示例化工有限公司" not in html


def test_api_achievement_enterprises(client, people, market):
    url = f"/api/v1/matching/achievements/{market.achievement.pk}/enterprises"
    found = client.get(url).json()["results"]
    assert [(r["kind"], r["id"]) for r in found] == [
        ("organizations", market.battery.pk),
        ("organizations", market.separator.pk),
    ]
    top = found[0]
    assert top["demand"] == {"id": market.battery_demand.pk, "title": "陶瓷涂覆隔膜量产需求"}
    assert (top["same_industry"], top["same_fields"], top["same_region"]) == (
        "电气机械和器材制造业",
        ["新能源与节能"],
        "",
    )
    assert top["explanation"].startswith("需求《陶瓷涂覆隔膜量产需求》与本成果相关；")
    assert [r["id"] for r in client.get(url, {"limit": 1}).json()["results"]] == [market.battery.pk]
    assert client.get(url, {"limit": 0}).status_code == 400
    client.force_login(people.platform_admin)
    assert market.hidden.pk in [r["id"] for r in client.get(url).json()["results"]]
    draft = AchievementFactory(organization=market.university, status="draft")
    client.logout()
    assert client.get(f"/api/v1/matching/achievements/{draft.pk}/enterprises").status_code == 404
