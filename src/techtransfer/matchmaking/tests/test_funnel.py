"""The matchmaking funnel: recording a match, moving it on with an event per step, and the figures."""

import pytest
from django.http import Http404

from techtransfer.audit.models import Event
from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.core.tests.factories import RoleFactory, region
from techtransfer.matchmaking import selectors, services
from techtransfer.matchmaking.models import Match, MatchEvent


def test_scout_walks_a_match_to_signed(people, corpus):
    match = services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.membrane, notes="推荐")
    assert (match.stage, match.driven_by, match.region.name) == ("recommended", people.scout, "相山区")
    for stage, note in [("contacted", "已电话联系"), ("negotiating", "双方见面"), ("signed", "签订技术转让合同")]:
        match = services.match_advance(actor=people.scout, match=match, to_stage=stage, note=note)
    match.refresh_from_db()
    assert (match.stage, match.furthest_stage) == ("signed", "signed")
    assert match.notes == "推荐\n已电话联系\n双方见面\n签订技术转让合同"
    events = list(
        MatchEvent.objects.filter(match=match).values_list("actor__username", "from_stage", "to_stage", "note")
    )
    assert events == [
        ("scout", "", "recommended", "推荐"),
        ("scout", "recommended", "contacted", "已电话联系"),
        ("scout", "contacted", "negotiating", "双方见面"),
        ("scout", "negotiating", "signed", "签订技术转让合同"),
    ]
    audit = Event.objects.filter(target_id=str(match.pk), target_type__model="match").order_by("id")
    assert [(e.from_status, e.to_status) for e in audit] == [
        ("", "recommended"),
        ("recommended", "contacted"),
        ("contacted", "negotiating"),
        ("negotiating", "signed"),
    ]


def test_skipping_a_step_or_leaving_a_closed_match_is_refused_and_changes_nothing(people, corpus):
    match = services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.expert)
    with pytest.raises(ServiceError) as exc:
        services.match_advance(actor=people.scout, match=match, to_stage="signed")
    assert exc.value.message == "“已推荐”之后不能转到“已签约”"
    services.match_advance(actor=people.scout, match=match, to_stage="dropped", note="企业暂缓")
    with pytest.raises(ServiceError):
        services.match_advance(actor=people.scout, match=match, to_stage="contacted")
    match.refresh_from_db()
    assert (match.stage, match.furthest_stage) == ("dropped", "recommended")
    assert MatchEvent.objects.filter(match=match).count() == 2


@pytest.mark.parametrize("who", ["acme_member", "rival_member", "outsider", "expert", "auditor"])
def test_only_drivers_may_record_matches(people, corpus, who):
    with pytest.raises(AccessDenied):
        services.match_create(actor=getattr(people, who), demand=corpus.demand, counterpart=corpus.membrane)
    assert Match.objects.count() == 0


def test_drafts_and_duplicates_are_refused(people, corpus):
    with pytest.raises(ServiceError) as exc:
        services.match_create(actor=people.platform_admin, demand=corpus.demand, counterpart=corpus.draft)
    assert exc.value.message == "只有已发布的需求和资源才能登记对接"
    with pytest.raises(Http404):  # a scout cannot see rival's draft at all
        services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.draft)
    services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.membrane)
    with pytest.raises(ServiceError) as exc:
        services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.membrane)
    assert exc.value.message == "该需求与该对象的对接已登记"
    assert Match.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "may_move", "sees"),
    [
        ("scout", True, True),
        ("xiangshan_admin", True, True),
        ("platform_admin", True, True),
        ("acme_member", False, True),  # the demanding enterprise follows its matches
        ("auditor", False, True),
        ("suixi_admin", False, False),
        ("rival_member", False, False),
        ("commissioner", False, False),
    ],
)
def test_who_sees_and_moves_a_match(people, corpus, who, may_move, sees):
    match = services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.membrane)
    user = getattr(people, who)
    assert list(selectors.match_list(user=user)) == ([match] if sees else [])
    if may_move:
        services.match_advance(actor=user, match=match, to_stage="contacted")
        assert Match.objects.get(pk=match.pk).stage == "contacted"
    else:
        with pytest.raises(AccessDenied if sees else Http404):
            services.match_advance(actor=user, match=match, to_stage="contacted")
        assert Match.objects.get(pk=match.pk).stage == "recommended"


def test_funnel_counts_and_conversion_per_stage_scout_and_region(people, corpus):
    other_scout = RoleFactory(role="scout", user__username="scout2", user__display_name="李情报").user
    rival_demand = type(corpus.demand).objects.create(
        organization=people.rival, region=region("340621"), status="published", title="隔膜需求", description="隔膜"
    )
    m1 = services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.membrane)
    m2 = services.match_create(actor=people.scout, demand=corpus.demand, counterpart=corpus.expert)
    m3 = services.match_create(actor=other_scout, demand=rival_demand, counterpart=corpus.instrument)
    services.match_create(actor=other_scout, demand=rival_demand, counterpart=corpus.far_membrane)
    for stage in ["contacted", "negotiating", "signed"]:
        services.match_advance(actor=people.scout, match=m1, to_stage=stage)
    services.match_advance(actor=people.scout, match=m2, to_stage="contacted")
    services.match_advance(actor=people.scout, match=m2, to_stage="dropped")
    services.match_advance(actor=other_scout, match=m3, to_stage="contacted")

    stats = selectors.funnel_stats(user=people.platform_admin)
    overall = stats["overall"]
    assert (overall["total"], overall["signed"], overall["dropped"], overall["signed_rate"]) == (4, 1, 1, 0.25)
    assert [(s["stage"], s["current"], s["reached"], s["conversion"]) for s in overall["stages"]] == [
        ("recommended", 1, 4, None),
        ("contacted", 1, 3, 0.75),
        ("negotiating", 0, 1, 0.3333),
        ("signed", 1, 1, 1.0),
    ]
    assert [(s["name"], s["total"], s["signed"]) for s in stats["by_scout"]] == [
        ("李情报", 2, 0),
        (str(people.scout), 2, 1),
    ]
    assert [(r["name"], r["total"], r["signed_rate"]) for r in stats["by_region"]] == [
        ("濉溪县", 2, 0.0),
        ("相山区", 2, 0.5),
    ]
    # a region's administrator sees the figures of their own region only
    assert selectors.funnel_stats(user=people.xiangshan_admin)["overall"]["total"] == 2
