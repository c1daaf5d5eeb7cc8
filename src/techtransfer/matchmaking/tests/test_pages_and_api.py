"""精准对接 pages and ``/api/v1/matching``: explained recommendations, the search page, the funnel walk-through."""

import json

import pytest
from django.urls import reverse

from techtransfer.core.services import record_transition
from techtransfer.matchmaking import indexing, services
from techtransfer.matchmaking.models import Match


@pytest.fixture
def built(corpus):
    indexing.index_rebuild()
    return corpus


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_detail_page_loads_the_block_with_htmx(client, built):
    page = client.get(reverse("portal:detail", args=["demands", built.demand.pk])).content.decode()
    url = reverse("matchmaking:recommend", args=["demands", built.demand.pk])
    assert f'hx-get="{url}" hx-trigger="load"' in page
    assert "hx-get" not in client.get(reverse("portal:detail", args=["experts", built.expert.pk])).content.decode()


def test_recommend_block_shows_explained_results(client, built):
    url = reverse("matchmaking:recommend", args=["demands", built.demand.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section class="recommendations"')
    assert "为您推荐" in html
    assert built.membrane.title in html and built.expert.name in html and built.instrument.name in html
    assert "同属高新技术领域：新能源与节能；同在相山区；技术就绪度 TRL 6" in html
    assert built.noise.title not in html and built.draft.title not in html
    assert "登记对接" not in html  # the public may not record matches


def test_recommend_block_for_a_draft_or_unknown_kind_is_404(client, built):
    assert client.get(reverse("matchmaking:recommend", args=["achievements", built.draft.pk])).status_code == 404
    assert client.get(reverse("matchmaking:recommend", args=["experts", built.expert.pk])).status_code == 404


def test_search_page(client, built):
    html = client.get(reverse("matchmaking:search"), {"q": "陶瓷涂覆隔膜"}).content.decode()
    assert "找到 5 条相关信息" in html
    assert built.membrane.title in html and built.draft.title not in html
    empty = client.get(reverse("matchmaking:search"), {"q": "量子引力"}).content.decode()
    assert "没有找到相关的成果、需求、专家或仪器" in empty
    assert 'aria-current="page">精准对接</a>' in empty


def test_search_page_drops_withdrawn_records_at_once(client, people, built):
    record_transition(obj=built.membrane, actor=people.acme_admin, action="withdraw")
    html = client.get(reverse("matchmaking:search"), {"q": "陶瓷涂覆隔膜"}).content.decode()
    assert "找到 4 条相关信息" in html
    assert built.membrane.title not in html


def test_api_demand_achievements_and_search(client, built):
    found = client.get(f"/api/v1/matching/demands/{built.demand.pk}/achievements").json()["results"]
    assert [r["id"] for r in found[:2]] == [built.membrane.pk, built.far_membrane.pk]
    assert found[0]["same_fields"] == ["新能源与节能"] and found[0]["same_region"] == "相山区"
    assert found[0]["explanation"].endswith("；同属高新技术领域：新能源与节能；同在相山区；技术就绪度 TRL 6")
    experts = client.get(f"/api/v1/matching/demands/{built.demand.pk}/experts").json()["results"]
    assert [r["id"] for r in experts] == [built.expert.pk]
    demands = client.get(f"/api/v1/matching/achievements/{built.membrane.pk}/demands").json()["results"]
    assert [r["id"] for r in demands] == [built.demand.pk]
    results = client.get("/api/v1/matching/search", {"q": "锂电池隔膜", "kind": "instruments"}).json()["results"]
    assert [(r["kind"], r["id"]) for r in results] == [("instruments", built.instrument.pk)]
    assert client.get(f"/api/v1/matching/achievements/{built.draft.pk}/demands").status_code == 404
    assert client.get("/api/v1/matching/search").status_code == 400


def test_funnel_walkthrough_in_the_browser(client, people, built):
    client.force_login(people.scout)
    block = client.get(
        reverse("matchmaking:recommend", args=["demands", built.demand.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "登记对接" in block
    response = client.post(
        reverse("matchmaking:match_create"),
        {"demand": built.demand.pk, "kind": "achievements", "counterpart": built.membrane.pk, "notes": "首次推荐"},
    )
    match = Match.objects.get()
    assert response.url == reverse("matchmaking:match", args=[match.pk])
    page = client.get(response.url).content.decode()
    assert "转为“已联系”" in page and "转为“已终止”" in page
    for stage in ["contacted", "negotiating", "signed"]:
        client.post(reverse("matchmaking:match_advance", args=[match.pk, stage]), {"note": f"到{stage}"})
    match.refresh_from_db()
    assert match.stage == "signed"
    page = client.get(reverse("matchmaking:match", args=[match.pk])).content.decode()
    assert "洽谈中 → 已签约" in page and "转为" not in page
    funnel = client.get(reverse("matchmaking:funnel")).content.decode()
    assert "共 1 项对接，已签约 1 项，已终止 0 项。" in funnel


def test_refused_page_writes_change_nothing(client, people, built):
    client.force_login(people.acme_member)
    response = client.post(
        reverse("matchmaking:match_create"),
        {"demand": built.demand.pk, "kind": "achievements", "counterpart": built.membrane.pk},
    )
    assert response.status_code == 403
    assert Match.objects.count() == 0
    assert client.get(reverse("matchmaking:funnel")).status_code == 403


def test_recommend_block_lists_the_demands_matches_only_to_who_may_see_them(client, people, built):
    services.match_create(actor=people.scout, demand=built.demand, counterpart=built.expert, notes="推荐")
    url = reverse("matchmaking:recommend", args=["demands", built.demand.pk])
    client.force_login(people.acme_member)  # the demanding enterprise follows its matches here
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert '<h3 id="recommend-matches">本需求的对接</h3>' in html
    assert f"已推荐 · 负责人 {people.scout}" in html
    client.force_login(people.rival_member)
    assert "本需求的对接" not in client.get(url, headers={"HX-Request": "true"}).content.decode()
    client.logout()
    assert "本需求的对接" not in client.get(url, headers={"HX-Request": "true"}).content.decode()


def test_a_match_on_a_hidden_record_is_404_on_the_page_and_the_api(client, people, built):
    """Only the service reads the demand and counterpart, so a record the scout may not see must be refused there."""
    client.force_login(people.scout)
    hidden = {"demand": built.demand.pk, "kind": "achievements", "counterpart": built.draft.pk}
    assert client.post(reverse("matchmaking:match_create"), hidden).status_code == 404
    assert post_json(client, "/api/v1/matching/matches", hidden).status_code == 404
    unknown_demand = {"demand": 999999, "kind": "achievements", "counterpart": built.membrane.pk}
    assert client.post(reverse("matchmaking:match_create"), unknown_demand).status_code == 404
    assert post_json(client, "/api/v1/matching/matches", unknown_demand).status_code == 404
    assert client.post(reverse("matchmaking:match_advance", args=[999999, "contacted"])).status_code == 404
    assert Match.objects.count() == 0


def test_funnel_through_the_api(client, people, built):
    client.force_login(people.scout)
    created = post_json(
        client,
        "/api/v1/matching/matches",
        {"demand": built.demand.pk, "kind": "experts", "counterpart": built.expert.pk},
    )
    assert created.status_code == 201
    match_id = created.json()["id"]
    assert created.json()["stage"] == "recommended" and created.json()["driven_by"] == str(people.scout)
    moved = post_json(client, f"/api/v1/matching/matches/{match_id}/advance", {"stage": "contacted", "note": "已约见"})
    assert moved.status_code == 200
    assert [(e["from_stage"], e["to_stage"], e["note"]) for e in moved.json()["events"]] == [
        ("", "recommended", ""),
        ("recommended", "contacted", "已约见"),
    ]
    skipped = post_json(client, f"/api/v1/matching/matches/{match_id}/advance", {"stage": "signed"})
    assert (skipped.status_code, skipped.json()["code"]) == (400, "bad_stage")
    stats = client.get("/api/v1/matching/funnel").json()
    assert stats["overall"]["total"] == 1
    assert [(s["stage"], s["reached"], s["conversion"]) for s in stats["overall"]["stages"]] == [
        ("recommended", 1, None),
        ("contacted", 1, 1.0),
        ("negotiating", 0, 0.0),
        ("signed", 0, None),
    ]
    assert stats["by_region"][0]["name"] == "相山区"
    client.force_login(people.rival_member)
    assert client.get(f"/api/v1/matching/matches/{match_id}").status_code == 404
    assert post_json(client, f"/api/v1/matching/matches/{match_id}/advance", {"stage": "dropped"}).status_code == 404
    assert client.get("/api/v1/matching/funnel").status_code == 403
    client.logout()
    assert client.get("/api/v1/matching/funnel").status_code == 401


def test_a_rebuild_refreshes_cached_anonymous_search_pages(client, people, built):
    from techtransfer.core.tests.factories import AchievementFactory

    url = reverse("matchmaking:search")
    assert "找到 5 条相关信息" in client.get(url, {"q": "陶瓷涂覆隔膜"}).content.decode()
    AchievementFactory(organization=people.acme, status="published", title="陶瓷涂覆隔膜在线检测")
    indexing.index_update()
    assert "找到 6 条相关信息" in client.get(url, {"q": "陶瓷涂覆隔膜"}).content.decode()


def test_funnel_figures_through_the_api_after_a_signed_and_a_dropped_match(client, people, built):
    """The browser test's walk-through (tests/browser/test_scout_walks_the_funnel.py), through the API."""
    client.force_login(people.scout)
    signed = post_json(
        client,
        "/api/v1/matching/matches",
        {"demand": built.demand.pk, "kind": "achievements", "counterpart": built.membrane.pk},
    ).json()["id"]
    dropped = post_json(
        client,
        "/api/v1/matching/matches",
        {"demand": built.demand.pk, "kind": "achievements", "counterpart": built.far_membrane.pk},
    ).json()["id"]
    for stage, note in [("contacted", "已电话联系"), ("negotiating", "洽谈许可条件"), ("signed", "签订许可合同")]:
        assert (
            post_json(client, f"/api/v1/matching/matches/{signed}/advance", {"stage": stage, "note": note}).status_code
            == 200
        )
    for stage, note in [("contacted", "已发送资料"), ("dropped", "企业暂缓")]:
        assert (
            post_json(client, f"/api/v1/matching/matches/{dropped}/advance", {"stage": stage, "note": note}).status_code
            == 200
        )

    stats = client.get("/api/v1/matching/funnel").json()
    stages = [
        {"stage": "recommended", "label": "已推荐", "current": 0, "reached": 2, "conversion": None},
        {"stage": "contacted", "label": "已联系", "current": 0, "reached": 2, "conversion": 1.0},
        {"stage": "negotiating", "label": "洽谈中", "current": 0, "reached": 1, "conversion": 0.5},
        {"stage": "signed", "label": "已签约", "current": 1, "reached": 1, "conversion": 1.0},
    ]
    figures = {"total": 2, "signed": 1, "dropped": 1, "signed_rate": 0.5, "stages": stages}
    assert stats["overall"] == figures
    assert stats["by_scout"] == [{"id": people.scout.pk, "name": str(people.scout), **figures}]
    region_id = built.demand.region_id
    assert stats["by_region"] == [{"id": region_id, "name": "相山区", **figures}]

    # the demand's owner follows the matches on the demand's page and reads who took each step
    client.force_login(people.acme_member)
    block = client.get(
        reverse("matchmaking:recommend", args=["demands", built.demand.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert '<h3 id="recommend-matches">本需求的对接</h3>' in block
    assert f'href="/matching/matches/{signed}/">{built.membrane.title}</a>' in block
    assert f'href="/matching/matches/{dropped}/">{built.far_membrane.title}</a>' in block
    events = client.get(f"/api/v1/matching/matches/{signed}").json()["events"]
    assert [(e["actor"], e["from_stage"], e["to_stage"], e["note"]) for e in events] == [
        (str(people.scout), "", "recommended", ""),
        (str(people.scout), "recommended", "contacted", "已电话联系"),
        (str(people.scout), "contacted", "negotiating", "洽谈许可条件"),
        (str(people.scout), "negotiating", "signed", "签订许可合同"),
    ]
    # the public sees no matches on the same block
    client.logout()
    public = client.get(reverse("matchmaking:recommend", args=["demands", built.demand.pk])).content.decode()
    assert "本需求的对接" not in public and "/matching/matches/" not in public
