"""Recommendations and search: ranked, explained in Chinese, and limited to what the user may see."""

import pytest

from techtransfer.core.tests.factories import AchievementFactory, DemandFactory
from techtransfer.matchmaking import indexing, selectors


@pytest.fixture
def built(corpus):
    indexing.index_rebuild()
    return corpus


def test_demand_gets_achievements_experts_and_instruments_with_explanations(built):
    # when the public asks for recommendations for acme's demand
    recs = selectors.recommendations_for(obj=built.demand, user=None)
    # then there are three kinds, the nearby membrane result first, the wheat one nowhere
    assert list(recs) == ["achievements", "experts", "instruments"]
    achievements = [r.obj for r in recs["achievements"]]
    assert achievements[:2] == [built.membrane, built.far_membrane]
    assert built.noise not in achievements
    assert built.draft not in achievements
    top = recs["achievements"][0]
    assert top.same_fields == ["新能源与节能"]
    assert top.same_region == "相山区"
    assert "隔膜" in top.shared_terms
    assert top.explanation.startswith("共同词语：")
    assert top.explanation.endswith("；同属高新技术领域：新能源与节能；同在相山区；技术就绪度 TRL 6")
    assert recs["achievements"][1].same_fields == [] and recs["achievements"][1].same_region == ""
    assert top.score > recs["achievements"][1].score
    assert [r.obj for r in recs["experts"]] == [built.expert]
    assert recs["experts"][0].same_fields == ["新能源与节能"]
    assert [r.obj for r in recs["instruments"]] == [built.instrument]


def test_achievement_gets_demands_and_never_itself(built):
    recs = selectors.recommendations_for(obj=built.membrane, user=None)
    assert list(recs) == ["demands", "enterprises"]
    assert recs["enterprises"] == []  # the demand is acme's own, and acme owns the achievement
    assert [r.obj for r in recs["demands"]] == [built.demand]
    assert recs["demands"][0].as_dict()["id"] == built.demand.pk


def test_target_narrows_to_one_kind(built):
    recs = selectors.recommendations_for(obj=built.demand, user=None, target="experts")
    assert list(recs) == ["experts"]


def test_search_across_kinds(built):
    results = selectors.search(q="锂电池隔膜", user=None)
    kinds = {(r.kind, r.obj.pk) for r in results}
    assert kinds == {
        ("achievements", built.membrane.pk),
        ("achievements", built.far_membrane.pk),
        ("demands", built.demand.pk),
        ("experts", built.expert.pk),
        ("instruments", built.instrument.pk),
    }
    assert selectors.search(q="锂电池隔膜", user=None, kinds=["experts"])[0].obj == built.expert
    assert selectors.search(q="", user=None) == []
    assert selectors.search(q="量子引力", user=None) == []


def test_records_published_after_the_build_wait_for_the_rebuild(people, built):
    late = AchievementFactory(organization=people.acme, status="published", title="锂电池隔膜新工艺")
    assert late not in [r.obj for r in selectors.search(q="锂电池隔膜", user=None)]
    indexing.index_update()
    assert late in [r.obj for r in selectors.search(q="锂电池隔膜", user=None)]


def test_results_only_include_published_records_visible_to_the_user(people, built):
    # given a demand published, indexed, then returned to draft by the platform (still in the index)
    hidden = DemandFactory(
        organization=people.rival,
        status="published",
        title="陶瓷涂覆隔膜量产需求",
        description="需要陶瓷涂覆隔膜量产工艺",
    )
    indexing.index_rebuild()
    type(hidden).objects.filter(pk=hidden.pk).update(status="draft")
    for who in ["anonymous", "acme_member", "rival_member", "platform_admin", "scout"]:
        user = getattr(people, who)
        recs = selectors.recommendations_for(obj=built.membrane, user=user)["demands"]
        assert [r.obj for r in recs] == [built.demand], who


def test_query_counts_do_not_grow_with_results(people, built, django_assert_num_queries):
    for n in range(5):
        AchievementFactory(organization=people.rival, status="published", title=f"锂电池隔膜改性技术{n}")
    indexing.index_rebuild()
    indexing.current_index()
    # one query per recommended kind, whatever the number of results
    with django_assert_num_queries(3):
        recs = selectors.recommendations_for(obj=built.demand, user=None)
    assert len(recs["achievements"]) == 7
    # one query per kind found
    with django_assert_num_queries(4):
        assert len(selectors.search(q="锂电池隔膜", user=None)) == 10
