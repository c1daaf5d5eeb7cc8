"""``techtransfer load_demo`` as a command: idempotent, refused in production, explicit about what it needs."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from techtransfer.accounts.models import RoleAssignment, User
from techtransfer.audit.models import Event
from techtransfer.core.models import ContentVersion
from techtransfer.core.pagecache import content_version
from techtransfer.core.registry import KINDS
from techtransfer.demo import loader
from techtransfer.organizations.models import Certification, Membership, Organization, OrganizationFacts
from techtransfer.regions.models import Region

MODELS = [User, RoleAssignment, Membership, Organization, OrganizationFacts, Certification, Event, ContentVersion]


def load(**options) -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


def everything() -> dict:
    """Every row the demo writes, field by field."""
    models = MODELS + [kind.model for kind in KINDS.values()]
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


@pytest.mark.django_db
def test_a_second_run_creates_nothing_and_changes_nothing():
    # Given the demo loaded once
    version = content_version()
    first = load()
    before = everything()
    loaded_version = content_version()
    # When it is loaded again
    second = load()
    # Then the second run says so, and every row is as it was
    assert first.splitlines()[0] == (
        "演示数据已载入，新建：演示账号 10、示例单位 20、年度规模数据 23、资质认定 16、"
        "科技成果 300、技术需求 40、专家 15、科技特派员 8、大型仪器 20、中试基地 5"
    )
    assert second.splitlines()[0] == "演示数据已存在，未作改动。"
    assert everything() == before
    # The first run invalidated cached anonymous pages; the second, which changed nothing, did not.
    assert loaded_version > version
    assert content_version() == loaded_version
    assert len(before["achievements.Achievement"]) == 300
    assert len(before["audit.Event"]) > 388 * 2  # a create event and at least one step for most records


@pytest.mark.django_db
def test_a_later_run_adds_only_what_is_missing():
    load(papers=10)
    achievements = KINDS["achievements"].model.objects
    first = set(achievements.values_list("pk", flat=True))
    events = Event.objects.count()
    last_event = Event.objects.order_by("pk").last().pk
    out = load(papers=25)
    assert out.splitlines()[0] == "演示数据已载入，新建：科技成果 15"
    assert achievements.count() == 25
    assert Event.objects.count() > events
    # The new events are exactly the history of the 15 new achievements: nothing loaded before got another.
    added = achievements.exclude(pk__in=first).values_list("pk", "status")
    assert Counter(Event.objects.filter(pk__gt=last_event).values_list("target_type__model", "target_id")) == {
        ("achievement", str(pk)): 1 + len(loader.PATHS[status]) for pk, status in added
    }


@pytest.mark.django_db
def test_existing_accounts_keep_their_password(django_user_model):
    user = django_user_model.objects.create_user(username="demo_scout", password="Own-Secret-2026")
    load(papers=0)
    user.refresh_from_db()
    assert user.check_password("Own-Secret-2026")
    assert set(user.role_assignments.values_list("role", flat=True)) == {"scout"}


@pytest.mark.django_db
def test_production_refuses_demo_accounts(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="生产环境（TECHTRANSFER_PRODUCTION=1）不载入演示数据"):
        load()
    assert not User.objects.filter(username__startswith="demo_").exists()
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_without_the_region_tree_it_says_which_command_to_run_first():
    Region.objects.exclude(parent=None).delete()  # children first (PROTECT); rolled back after the test
    Region.objects.all().delete()
    with pytest.raises(CommandError, match="请先运行 techtransfer load_codes"):
        load()
    assert not User.objects.exists()
