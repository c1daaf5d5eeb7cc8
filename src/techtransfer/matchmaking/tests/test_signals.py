"""Structured signals of a demand ↔ achievement recommendation: industry, transfer mode, budget, readiness —
each with its exact bonus and its words in the explanation, in both directions and on the API."""

from decimal import Decimal

import pytest
from django.urls import reverse

from techtransfer.core.tests.factories import AchievementFactory, DemandFactory, ExpertFactory
from techtransfer.matchmaking import indexing, selectors

TEXT = {"title": "陶瓷涂覆锂电池隔膜制备技术", "abstract": "一种耐热陶瓷涂覆隔膜的连续涂覆工艺。", "keywords": []}


@pytest.fixture
def market(people):
    """One demand and three achievements of the same text (so the same text score), whose structured data differ."""
    m = type("Market", (), {})()
    m.demand = DemandFactory(
        organization=people.acme,  # 相山区
        status="published",
        title="陶瓷涂覆锂电池隔膜制备需求",
        description="需要耐热陶瓷涂覆隔膜的连续涂覆工艺。",
        fields=",new_energy,",
        industry_id="3841",
        cooperation_modes=",license,",
        budget=Decimal("500000"),
    )
    # everything in common: field, 行业大类 38, region, 许可, price within budget, TRL 7
    m.ready = AchievementFactory(
        organization=people.acme,
        status="published",
        **TEXT,
        high_tech_field="new_energy",
        industry_id="3849",
        transfer_modes=",transfer,license,",
        asking_price=Decimal("300000"),
        readiness_level=7,
    )
    # nothing in common, its price over the budget, TRL 6 (not ready for a demand that does not co-develop)
    m.dear = AchievementFactory(
        organization=people.rival,  # 濉溪县
        status="published",
        **TEXT,
        high_tech_field="new_materials",
        industry_id="2651",
        transfer_modes=",transfer,",
        asking_price=Decimal("800000"),
        readiness_level=6,
    )
    # no price, no readiness, no industry: neutral
    m.bare = AchievementFactory(
        organization=people.rival,
        status="published",
        **TEXT,
        high_tech_field="",
        industry=None,
        transfer_modes="",
        asking_price=None,
        readiness_level=None,
    )
    m.expert = ExpertFactory(
        organization=people.acme,
        status="published",
        name="王隔膜",
        expertise="陶瓷涂覆锂电池隔膜",
        fields=",new_energy,",
    )
    indexing.index_rebuild()
    return m


def by_obj(results):
    return {r.obj: r for r in results}


def test_a_demands_achievements_carry_every_signal_with_its_bonus(market):
    found = by_obj(selectors.recommendations_for(obj=market.demand, user=None)["achievements"])
    ready, dear, bare = found[market.ready], found[market.dear], found[market.bare]
    # the same text, so the same text score: the order and the gaps come from the signals alone
    assert ready.text_score == dear.text_score == bare.text_score
    assert (ready.text_score, round(ready.score, 4)) == (1.0, 1.19)  # field .05, industry .05, region .03, the rest .02
    assert ready.same_industry == "电气机械和器材制造业"
    assert (ready.same_fields, ready.same_region) == (["新能源与节能"], "相山区")
    assert (ready.shared_modes, ready.price_in_budget, ready.readiness_level) == (["许可"], True, 7)
    assert ready.explanation.startswith("共同词语：")
    assert ready.explanation.endswith(
        "；行业：电气机械和器材制造业；同属高新技术领域：新能源与节能；同在相山区；"
        "转化方式相符：许可；报价在预算内；技术就绪度 TRL 7"
    )
    # a price over the budget earns nothing and is said; TRL 6 is not ready for a demand that does not co-develop
    assert dear.score == dear.text_score
    assert (dear.same_industry, dear.shared_modes, dear.price_in_budget, dear.readiness_level) == ("", [], False, None)
    assert dear.explanation.endswith("；报价超出预算")
    # nothing given is neutral: no bonus, no words
    assert bare.score == bare.text_score
    assert (bare.price_in_budget, bare.readiness_level) == (None, None)
    assert "预算" not in bare.explanation and "TRL" not in bare.explanation
    ranked = selectors.recommendations_for(obj=market.demand, user=None)["achievements"]
    assert [r.obj for r in ranked] == [market.ready, market.dear, market.bare]  # equal scores: by id


def test_a_demand_open_to_joint_development_takes_achievements_from_trl_4(market):
    type(market.demand).objects.filter(pk=market.demand.pk).update(cooperation_modes=",co_development,")
    market.demand.refresh_from_db()
    found = by_obj(selectors.recommendations_for(obj=market.demand, user=None)["achievements"])
    assert found[market.dear].readiness_level == 6
    assert found[market.dear].explanation.endswith("；报价超出预算；技术就绪度 TRL 6")
    assert round(found[market.dear].score - found[market.dear].text_score, 4) == 0.02  # readiness only
    assert found[market.ready].shared_modes == []  # 合作开发 is not one of its modes
    assert found[market.bare].readiness_level is None


def test_an_achievements_demands_carry_industry_mode_and_budget_but_not_its_own_readiness(market):
    (result,) = selectors.recommendations_for(obj=market.ready, user=None)["demands"]
    assert result.obj == market.demand
    assert result.same_industry == "电气机械和器材制造业"
    assert (result.shared_modes, result.price_in_budget, result.readiness_level) == (["许可"], True, None)
    assert round(result.score - result.text_score, 4) == 0.17
    assert result.explanation.endswith("；同在相山区；转化方式相符：许可；报价在预算内")
    (over,) = selectors.recommendations_for(obj=market.dear, user=None)["demands"]
    assert over.explanation.endswith("；报价超出预算") and over.score == over.text_score


def test_experts_keep_field_and_region_only(market):
    (expert,) = selectors.recommendations_for(obj=market.demand, user=None)["experts"]
    assert expert.obj == market.expert
    assert round(expert.score - expert.text_score, 4) == 0.08
    assert (expert.same_industry, expert.shared_modes, expert.price_in_budget, expert.readiness_level) == (
        "",
        [],
        None,
        None,
    )
    assert expert.explanation.endswith("；同属高新技术领域：新能源与节能；同在相山区")


def test_every_signal_is_on_the_api_and_the_block(client, market):
    found = client.get(f"/api/v1/matching/demands/{market.demand.pk}/achievements").json()["results"]
    top = found[0]
    assert top["id"] == market.ready.pk
    assert {k: top[k] for k in ("same_industry", "same_fields", "same_region", "shared_modes")} == {
        "same_industry": "电气机械和器材制造业",
        "same_fields": ["新能源与节能"],
        "same_region": "相山区",
        "shared_modes": ["许可"],
    }
    assert (top["price_in_budget"], top["readiness_level"]) == (True, 7)
    assert round(top["score"] - top["text_score"], 4) == 0.19
    dear = next(r for r in found if r["id"] == market.dear.pk)
    assert (dear["price_in_budget"], dear["readiness_level"], dear["shared_modes"]) == (False, None, [])
    block = client.get(reverse("matchmaking:recommend", args=["demands", market.demand.pk])).content.decode()
    assert "转化方式相符：许可；报价在预算内；技术就绪度 TRL 7" in block
    assert "报价超出预算" in block


def test_the_industry_name_costs_one_query_whatever_the_number_of_results(people, market, django_assert_num_queries):
    # one query per kind found (achievements, experts; no instrument matches) and one for the shared 大类's name
    indexing.current_index()
    with django_assert_num_queries(3):
        assert len(selectors.recommendations_for(obj=market.demand, user=None)["achievements"]) == 3
    for _n in range(4):
        AchievementFactory(organization=people.rival, status="published", **TEXT, industry_id="3841")
    indexing.index_rebuild()
    indexing.current_index()
    with django_assert_num_queries(3):
        recs = selectors.recommendations_for(obj=market.demand, user=None)
    assert len(recs["achievements"]) == 7
    assert sum(1 for r in recs["achievements"] if r.same_industry) == 5
