"""Every role against every registry: who sees a draft, who may change it, who reviews it."""

import pytest
from django.http import Http404

from techtransfer.audit.models import Event
from techtransfer.core import access
from techtransfer.core.errors import ServiceError
from techtransfer.core.services import record_create, record_transition, record_update
from techtransfer.core.tests.factories import REGISTRY_FACTORIES

KINDS = sorted(REGISTRY_FACTORIES)

# For a draft owned by acme (相山区): who sees it, who may edit it, who may review it.
DRAFT_VISIBLE = {"acme_admin", "acme_member", "xiangshan_admin", "platform_admin"}
DRAFT_EDITABLE = {"acme_admin", "acme_member", "xiangshan_admin", "platform_admin"}
REVIEWERS = {"xiangshan_admin", "platform_admin"}
EVERYONE = [
    "anonymous",
    "acme_admin",
    "acme_member",
    "rival_member",
    "platform_admin",
    "xiangshan_admin",
    "suixi_admin",
    "scout",
    "expert",
    "commissioner",
    "auditor",
    "outsider",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", EVERYONE)
def test_draft_visibility_and_edit_rights(people, kind, who):
    record = REGISTRY_FACTORIES[kind](organization=people.acme)
    user = getattr(people, who)
    model = type(record)
    assert model.objects.visible_to(user).filter(pk=record.pk).exists() == (who in DRAFT_VISIBLE)
    assert model.objects.editable_by(user).filter(pk=record.pk).exists() == (who in DRAFT_EDITABLE)
    assert model.objects.reviewable_by(user).filter(pk=record.pk).exists() == (who in REVIEWERS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", EVERYONE)
def test_published_records_are_public(people, kind, who):
    record = REGISTRY_FACTORIES[kind](organization=people.acme, status="published")
    assert type(record).objects.visible_to(getattr(people, who)).filter(pk=record.pk).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_refused_read_is_404_like_missing(people, kind):
    record = REGISTRY_FACTORIES[kind](organization=people.acme)
    model = type(record)
    with pytest.raises(Http404):
        access.get_object_for(people.rival_member, model, record.pk)
    with pytest.raises(Http404):
        access.get_object_for(people.rival_member, model, 999999)
    assert access.get_object_for(people.acme_member, model, record.pk) == record


@pytest.mark.parametrize("kind", KINDS)
def test_full_workflow_writes_events(people, kind):
    record = REGISTRY_FACTORIES[kind](organization=people.acme)
    for actor, action, status in [
        (people.acme_member, "submit", "submitted"),
        (people.xiangshan_admin, "return", "returned"),
        (people.acme_member, "submit", "submitted"),
        (people.xiangshan_admin, "approve", "approved"),
        (people.acme_admin, "publish", "published"),
        (people.acme_admin, "withdraw", "withdrawn"),
    ]:
        record = record_transition(obj=record, actor=actor, action=action, comment="请补充应用案例")
        assert record.status == status
    events = Event.objects.filter(target_id=str(record.pk), action="transition").order_by("id")
    assert [(e.actor_name, e.from_status, e.to_status) for e in events] == [
        ("acme_member", "draft", "submitted"),
        ("xiangshan_admin", "submitted", "returned"),
        ("acme_member", "returned", "submitted"),
        ("xiangshan_admin", "submitted", "approved"),
        ("acme_admin", "approved", "published"),
        ("acme_admin", "published", "withdrawn"),
    ]
    assert record.published_at is not None


@pytest.mark.parametrize("who", ["acme_member", "suixi_admin", "rival_member", "scout", "auditor", "anonymous"])
def test_non_reviewers_cannot_approve_and_nothing_changes(people, who):
    record = REGISTRY_FACTORIES["demand"](organization=people.acme, status="submitted")
    before = Event.objects.count()
    with pytest.raises(access.AccessDenied):
        record_transition(obj=record, actor=getattr(people, who), action="approve")
    record.refresh_from_db()
    assert record.status == "submitted"
    assert Event.objects.count() == before


def test_return_needs_a_comment(people):
    record = REGISTRY_FACTORIES["achievement"](organization=people.acme, status="submitted")
    with pytest.raises(ServiceError) as exc:
        record_transition(obj=record, actor=people.platform_admin, action="return", comment="  ")
    assert exc.value.code == "comment_required"
    record.refresh_from_db()
    assert record.status == "submitted"


def test_publish_before_approval_is_refused(people):
    record = REGISTRY_FACTORIES["achievement"](organization=people.acme)
    with pytest.raises(ServiceError) as exc:
        record_transition(obj=record, actor=people.platform_admin, action="publish")
    assert exc.value.code == "bad_transition"
    assert "草稿" in exc.value.message


def test_update_records_before_and_after(people):
    record = REGISTRY_FACTORIES["demand"](organization=people.acme, title="旧标题")
    record_update(obj=record, actor=people.acme_member, fields={"title": "新标题", "is_bottleneck": True})
    record.refresh_from_db()
    assert record.title == "新标题"
    event = Event.objects.get(target_id=str(record.pk), action="update")
    assert event.changes == {"title": ["旧标题", "新标题"], "is_bottleneck": [False, True]}
    assert event.actor_name == "acme_member"


def test_refused_update_changes_nothing(people):
    record = REGISTRY_FACTORIES["demand"](organization=people.acme, title="原标题")
    with pytest.raises(access.AccessDenied):
        record_update(obj=record, actor=people.rival_member, fields={"title": "被篡改"})
    record.refresh_from_db()
    assert record.title == "原标题"
    assert not Event.objects.filter(target_id=str(record.pk)).exists()


def test_published_record_cannot_be_edited_in_place(people):
    record = REGISTRY_FACTORIES["demand"](organization=people.acme, status="published")
    with pytest.raises(ServiceError) as exc:
        record_update(obj=record, actor=people.acme_admin, fields={"title": "x"})
    assert exc.value.code == "not_editable"


def test_create_inherits_region_and_logs(people):
    from techtransfer.demands.models import Demand

    demand = record_create(
        model=Demand,
        actor=people.acme_member,
        fields={"organization": people.acme, "title": "氢能燃料电池膜电极", "description": "寻求合作开发"},
    )
    assert demand.region.name == "相山区"
    assert demand.status == "draft"
    event = Event.objects.get(target_id=str(demand.pk), action="create")
    assert event.changes["title"] == [None, "氢能燃料电池膜电极"]


def test_create_for_another_organization_is_refused(people):
    from techtransfer.demands.models import Demand

    with pytest.raises(access.AccessDenied):
        record_create(
            model=Demand,
            actor=people.acme_member,
            fields={"organization": people.rival, "title": "t", "description": "d"},
        )
    assert not Demand.objects.exists()


def test_invalid_fields_give_chinese_messages(people):
    from techtransfer.achievements.models import Achievement

    with pytest.raises(ServiceError) as exc:
        record_create(
            model=Achievement,
            actor=people.acme_member,
            fields={
                "organization": people.acme,
                "title": "t",
                "abstract": "a",
                "readiness_level": 12,
                "transfer_modes": ",sell,",
                "ip_items": [{"kind": "invention", "number": "ZL202310123456.1"}],
            },
        )
    details = exc.value.details
    assert details["readiness_level"] == ["确保该值小于或等于9。"]
    assert details["transfer_modes"] == ["不认识的选项：sell"]
    assert details["ip_items"] == ["专利号校验位错误：ZL202310123456.1（校验位应为 6）"]
    assert not Achievement.objects.exists()


def test_contacts_masked_for_the_public(people):
    record = REGISTRY_FACTORIES["demand"](organization=people.acme, status="published")
    assert access.contact_fields_for(None, record) == {
        "contact_phone": "138****1111",
        "contact_email": "l***@example.com",
    }
    assert access.contact_fields_for(people.acme_member, record) == {
        "contact_phone": "13800001111",
        "contact_email": "li@example.com",
    }


def test_member_cannot_hand_a_record_to_another_organization(people):
    record = REGISTRY_FACTORIES["demand"](organization=people.acme)
    with pytest.raises(access.AccessDenied):
        record_update(obj=record, actor=people.acme_member, fields={"organization": people.rival})
    record.refresh_from_db()
    assert record.organization == people.acme
    # A platform administrator may move it.
    record_update(obj=record, actor=people.platform_admin, fields={"organization": people.rival})
    record.refresh_from_db()
    assert record.organization == people.rival


def test_scout_is_credited_with_the_achievements_they_bring_in(people):
    from techtransfer.achievements.models import Achievement

    brought = record_create(
        model=Achievement,
        actor=people.scout,
        fields={"organization": people.rival, "title": "煤矸石综合利用技术", "abstract": "以煤矸石制备陶粒。"},
    )
    own = record_create(
        model=Achievement,
        actor=people.acme_member,
        fields={"organization": people.acme, "title": "陶铝活塞", "abstract": "轻量化活塞。"},
    )
    assert (brought.scout, own.scout) == (people.scout, None)
