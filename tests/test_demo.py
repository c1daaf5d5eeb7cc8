"""What ``techtransfer load_demo`` puts in front of a visitor: example data, loaded once for this module."""

import datetime
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction

from techtransfer.accounts.models import User
from techtransfer.achievements.models import Achievement
from techtransfer.audit.models import Event
from techtransfer.core.access import actor_of
from techtransfer.core.registry import KINDS
from techtransfer.core.workflow import TRANSITIONS
from techtransfer.demands.models import Demand
from techtransfer.demo import loader
from techtransfer.organizations import credit_code
from techtransfer.organizations.models import Organization

ROLES = {
    # username: (platform roles, region paths administered, {organization name: membership role})
    "demo_admin": ({"platform_admin"}, (), {"淮北市科学技术局（示例）": "admin"}),
    "demo_xiangshan": ({"region_admin"}, ("/340600/340603/",), {}),
    "demo_gaoxin": ({"region_admin"}, ("/340600/340600-P01/",), {}),
    "demo_tto": (set(), (), {"相山理工大学（示例）": "admin"}),
    "demo_company_admin": (set(), (), {"淮北陶铝新材料科技有限公司（示例）": "admin"}),
    "demo_company": (set(), (), {"淮北陶铝新材料科技有限公司（示例）": "member"}),
    "demo_scout": ({"scout"}, (), {}),
    "demo_expert": ({"expert"}, (), {}),
    "demo_commissioner": ({"commissioner"}, (), {}),
    "demo_auditor": ({"auditor"}, (), {}),
}
# The workflow steps' target statuses that lead to each status, as core.services writes them.
STEPS = {
    "draft": [],
    "submitted": ["submitted"],
    "returned": ["submitted", "returned"],
    "approved": ["submitted", "approved"],
    "published": ["submitted", "approved", "published"],
    "withdrawn": ["submitted", "approved", "published", "withdrawn"],
}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Load the demo once; every test of this module reads it; roll it back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            out = StringIO()
            call_command("load_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def loaded(demo, db):
    return demo


def test_the_command_prints_one_login_per_role(loaded):
    lines = [line.split() for line in loaded.splitlines() if "用户名" in line]
    assert [(words[0], words[2], words[4]) for words in lines] == [
        ("平台管理员（市科技局）", "demo_admin", "Demo-2026-pass"),
        ("区域管理员（相山区）", "demo_xiangshan", "Demo-2026-pass"),
        ("区域管理员（淮北高新区）", "demo_gaoxin", "Demo-2026-pass"),
        ("单位管理员（相山理工大学技术转移中心）", "demo_tto", "Demo-2026-pass"),
        ("企业管理员（淮北陶铝新材料）", "demo_company_admin", "Demo-2026-pass"),
        ("企业成员（淮北陶铝新材料）", "demo_company", "Demo-2026-pass"),
        ("科技情报员", "demo_scout", "Demo-2026-pass"),
        ("评审专家", "demo_expert", "Demo-2026-pass"),
        ("科技特派员", "demo_commissioner", "Demo-2026-pass"),
        ("审计员", "demo_auditor", "Demo-2026-pass"),
    ]


def test_each_demo_login_works_and_holds_its_role(loaded, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    users = {u.username: u for u in User.objects.filter(username__in=ROLES)}
    assert sorted(users) == sorted(ROLES)
    # Hashed as in production (Argon2), not with the tests' fast hasher; one hash serves the one password.
    for encoded in {u.password for u in users.values()}:
        assert encoded.startswith("argon2$") and check_password(loader.DEMO_PASSWORD, encoded)
    for username, (roles, region_paths, memberships) in ROLES.items():
        user = users[username]
        assert user.is_active, username
        validate_password(loader.DEMO_PASSWORD, user)  # raises if our password rules refuse it
        actor = actor_of(user)
        assert (set(actor.roles), actor.region_paths) == (roles, region_paths), username
        assert dict(user.memberships.values_list("organization__name", "role")) == memberships, username


def test_only_the_platform_admin_may_enter_the_back_office(loaded):
    assert list(
        User.objects.filter(username__startswith="demo_", is_staff=True).values_list("username", flat=True)
    ) == ["demo_admin"]


def test_achievements_are_the_first_300_csl_papers_of_useful_categories(loaded):
    papers = [p for p in loader.read_papers() if p["category"] in {"工学", "农学", "医学", "理学", "管理学", "经济学"}]
    expected = {f"{p['source']}#{p['id']}": p for p in papers[:300]}
    loaded_rows = list(
        Achievement.objects.values("source", "title", "abstract", "keywords", "discipline", "is_example")
    )
    assert {row["source"] for row in loaded_rows} == set(expected)
    for row in loaded_rows:
        paper = expected[row["source"]]
        assert (row["title"], row["abstract"], row["keywords"], row["discipline"], row["is_example"]) == (
            paper["title"],
            paper["abstract"],
            paper["keywords"],
            paper["discipline"],
            True,
        )
    assert Counter(Achievement.objects.values_list("status", flat=True)) == {
        "published": 240,
        "draft": 15,
        "submitted": 15,
        "returned": 15,
        "approved": 15,
    }


def test_high_tech_fields_are_set_only_for_obvious_disciplines(loaded):
    fields = defaultdict(set)
    for discipline, field in Achievement.objects.values_list("discipline", "high_tech_field"):
        fields[discipline].add(field)
    assert fields["材料科学与工程"] == {"new_materials"}
    assert fields["计算机科学与技术"] == {"electronic_information"}
    assert fields["基础医学/临床医学"] == {""}
    assert fields["食品科学与工程"] == {""}


def test_achievements_brought_in_by_the_scout_name_the_scout(loaded):
    scout = User.objects.get(username="demo_scout")
    by_scout = Achievement.objects.filter(created_by=scout)
    assert by_scout.exists()
    assert not by_scout.exclude(scout=scout).exists()
    assert not Achievement.objects.exclude(created_by=scout).filter(scout__isnull=False).exists()


def test_the_csl_papers_ship_with_their_attribution():
    attribution = (loader.DATA_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "https://github.com/ydli-ai/CSL" in attribution
    assert "Apache License 2.0" in attribution
    assert loader.PAPERS_FILE.name == "csl_papers_dev.jsonl"
    assert len(loader.read_papers()) == 1000


def test_no_market_listing_ships_in_the_package():
    # ../shared/data/README.md: the market_* files may not ship in the project.
    package = loader.DATA_DIR.parents[1]
    assert [p for p in package.rglob("*") if "market_" in p.name] == []
    assert sorted(p.name for p in loader.DATA_DIR.iterdir() if p.is_file()) == [
        "ATTRIBUTION.md",
        "commissioners.json",
        "csl_papers_dev.jsonl",
        "demands.json",
        "experts.json",
        "instruments.json",
        "organizations.json",
        "pilotbases.json",
        "users.json",
        "vectors-e5.npz",
    ]


def test_the_loaders_paths_follow_the_workflow():
    for status, actions in loader.PATHS.items():
        reached = "draft"
        for action in actions:
            assert reached in TRANSITIONS[action].sources, (status, action)
            reached = TRANSITIONS[action].target
        assert reached == status


def test_every_record_has_its_create_event_and_one_event_per_step(loaded):
    for kind in KINDS.values():
        model = kind.model
        events = defaultdict(list)
        for target_id, action, to_status in (
            Event.objects.filter(target_type=ContentType.objects.get_for_model(model))
            .order_by("id")
            .values_list("target_id", "action", "to_status")
        ):
            events[int(target_id)].append((action, to_status))
        records = list(model.objects.filter(is_example=True).values_list("pk", "status"))
        assert records, kind.slug
        for pk, status in records:
            assert events[pk] == [("create", "draft")] + [("transition", s) for s in STEPS[status]], (kind.slug, pk)


def test_a_timeline_reads_like_the_workflow(loaded):
    demand = Demand.objects.get(title="原位自生TiB2颗粒增强铝基复合材料大规格铸锭均匀化")
    timeline = Event.objects.filter(
        target_type=ContentType.objects.get_for_model(Demand), target_id=str(demand.pk)
    ).order_by("id")
    assert [(e.actor_name, e.action, e.from_status, e.to_status, e.summary) for e in timeline] == [
        ("demo_company", "create", "", "draft", ""),
        ("demo_company", "transition", "draft", "submitted", "提交审核"),
        ("demo_gaoxin", "transition", "submitted", "approved", "审核通过"),
        ("demo_gaoxin", "transition", "approved", "published", "发布"),
    ]
    returned = Demand.objects.get(title="陶铝复合材料边角料回收再生技术")
    last = Event.objects.filter(target_id=str(returned.pk), target_type__model="demand").order_by("-id").first()
    assert (returned.status, last.actor_name, last.comment) == ("returned", "demo_gaoxin", returned.review_comment)
    assert returned.review_comment == loader.RETURN_COMMENT


def titles(queryset, **filters):
    return set(queryset.filter(**filters).values_list("title", flat=True))


def test_workspaces_have_tasks_for_each_role(loaded):
    users = {u.username: u for u in User.objects.filter(username__startswith="demo_")}
    company_work = titles(Demand.objects.editable_by(users["demo_company"]), status__in=["draft", "returned"])
    assert company_work == {"陶铝复合材料高效切削刀具与工艺", "陶铝复合材料边角料回收再生技术"}
    assert titles(Demand.objects.reviewable_by(users["demo_gaoxin"]), status="submitted") == {
        "陶铝活塞材料高温疲劳性能评价方法",
        "车载储氢瓶组合阀门国产化",
    }
    assert titles(Demand.objects.reviewable_by(users["demo_xiangshan"]), status="submitted") == {
        "管道检测机器人狭小空间无线通信中继",
        "基于大模型的工艺知识库问答系统",
    }
    tto = Achievement.objects.editable_by(users["demo_tto"])
    assert Counter(tto.filter(status__in=["draft", "returned"]).values_list("status", flat=True)) == {
        "draft": 6,
        "returned": 7,
    }
    assert Achievement.objects.reviewable_by(users["demo_xiangshan"]).filter(status="submitted").count() == 6
    assert not Achievement.objects.editable_by(users["demo_auditor"]).exists()


def test_anonymous_visitors_see_only_published_examples(loaded):
    for kind in KINDS.values():
        public = kind.model.objects.visible_to(None)
        assert set(public.values_list("status", flat=True)) == {"published"}, kind.slug
        assert public.count() == kind.model.objects.filter(status="published").count()


def test_organizations_are_marked_examples_with_valid_credit_codes(loaded):
    organizations = list(Organization.objects.prefetch_related("certifications", "facts"))
    assert len(organizations) == 20
    codes = [o.credit_code for o in organizations]
    assert len(set(codes)) == 20
    for o in organizations:
        assert o.is_example and o.name.endswith("（示例）"), o.name
        assert credit_code.problem(o.credit_code) is None, o.name
        assert o.credit_code[2:8] == o.division_id, o.name
        if o.kind == "enterprise":
            assert o.certifications.all(), o.name
            assert 2025 in {f.year for f in o.facts.all()}, o.name
    kinds = Counter(o.kind for o in organizations)
    assert kinds == {
        "enterprise": 10,
        "research_institute": 5,
        "university": 1,
        "government": 1,
        "service_provider": 1,
        "financial_institution": 1,
        "fund": 1,
    }


def test_demands_are_written_for_the_plans_industries(loaded):
    demands = list(Demand.objects.select_related("organization"))
    assert len(demands) == 40
    assert all(d.is_example for d in demands)
    assert all(d.deadline > datetime.date(2026, 12, 1) for d in demands)
    assert all(d.budget > 0 and d.multi("fields") and d.multi("cooperation_modes") for d in demands)
    text = " ".join(d.title + d.organization.name for d in demands)
    for industry in ["陶铝", "特种机器人", "锂", "化工", "氢", "矿"]:
        assert industry in text, industry
    assert Counter(d.status for d in demands) == {
        "published": 29,
        "submitted": 4,
        "withdrawn": 2,
        "returned": 2,
        "draft": 2,
        "approved": 1,
    }
    assert sum(d.is_bottleneck for d in demands) == 13


def test_other_registries_hold_their_examples(loaded):
    counts = {slug: kind.model.objects.filter(is_example=True).count() for slug, kind in KINDS.items()}
    assert counts == {
        "achievements": 300,
        "demands": 40,
        "experts": 15,
        "commissioners": 8,
        "instruments": 20,
        "pilotbases": 5,
    }
    expert = User.objects.get(username="demo_expert").expert_profile
    commissioner = User.objects.get(username="demo_commissioner").commissioner_profile
    assert (expert.name, expert.status, commissioner.name, commissioner.status) == (
        "王立新",
        "published",
        "郭志远",
        "published",
    )
