"""``organization_update`` (and the admin's saves through the services): who may change an organization, and how."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from techtransfer.audit.models import Event
from techtransfer.core.access import AccessDenied, forget_actor
from techtransfer.core.errors import ErrorCode, ServiceError
from techtransfer.core.pagecache import content_version
from techtransfer.core.services import snapshot
from techtransfer.core.tests.factories import OrganizationFactory, region
from techtransfer.organizations import credit_code
from techtransfer.organizations.models import Organization
from techtransfer.organizations.services import organization_update


def valid_code(first17: str) -> str:
    return first17 + credit_code.check_character(first17)


CODE = valid_code("91340603MA2T8K4Q1")  # a 相山区 enterprise's 统一社会信用代码


def events_of(organization):
    ct = ContentType.objects.get_for_model(Organization)
    return list(Event.objects.filter(target_type=ct, target_id=str(organization.pk)).order_by("id"))


def refused_changes_nothing(people, who, fields, organization=None):
    """``who`` updating ``organization`` (acme by default) with ``fields`` is refused and changes nothing."""
    organization = organization or people.acme
    row_before = snapshot(Organization.objects.get(pk=organization.pk))
    events_before, version_before = Event.objects.count(), content_version()

    with pytest.raises(AccessDenied):
        organization_update(actor=getattr(people, who), organization=organization, fields=fields)

    assert snapshot(Organization.objects.get(pk=organization.pk)) == row_before
    assert Event.objects.count() == events_before
    assert content_version() == version_before


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("who", ["platform_admin", "xiangshan_admin", "acme_admin"])
def test_the_managers_of_an_organization_update_it(people, who):
    # Given acme (相山区) and one of its managers
    actor = getattr(people, who)
    version = content_version()

    # When they change its description and phone
    saved = organization_update(
        actor=actor,
        organization=people.acme,
        fields={"description": "陶铝活塞与制动盘生产企业", "contact_phone": "0561-3700701"},
    )

    # Then the row holds the new values, one update event records before → after, and cached pages refresh
    acme = Organization.objects.get(pk=people.acme.pk)
    assert (acme.description, acme.contact_phone) == ("陶铝活塞与制动盘生产企业", "0561-3700701")
    assert saved.pk == acme.pk and saved.description == "陶铝活塞与制动盘生产企业"
    [event] = events_of(acme)
    assert (event.action, event.actor, event.actor_name, event.target_repr) == (
        "update",
        actor,
        who,
        "淮北示例陶铝科技有限公司",
    )
    assert event.changes == {
        "description": ["", "陶铝活塞与制动盘生产企业"],
        "contact_phone": ["13912345678", "0561-3700701"],
    }
    assert content_version() == version + 1


@pytest.mark.parametrize(
    "who",
    [
        "anonymous",
        "outsider",
        "acme_member",  # a member of acme, but not its administrator
        "rival_member",
        "suixi_admin",  # a region administrator, of another region
        "scout",
        "expert",
        "commissioner",
        "auditor",
    ],
)
def test_anyone_else_is_refused_and_nothing_changes(people, who):
    refused_changes_nothing(people, who, {"name": "被篡改的名称", "description": "被篡改的简介"})


def test_an_organization_admin_manages_only_their_own_organization(people):
    refused_changes_nothing(people, "acme_admin", {"description": "别家的简介"}, organization=people.rival)


def test_a_new_administrator_may_update_at_once(people):
    # Given a member promoted to administrator after their roles were read
    member = people.acme_member
    with pytest.raises(AccessDenied):
        organization_update(actor=member, organization=people.acme, fields={"address": "相山区示例路1号"})
    member.memberships.update(role="admin")
    forget_actor(member)

    organization_update(actor=member, organization=people.acme, fields={"address": "相山区示例路1号"})

    assert Organization.objects.get(pk=people.acme.pk).address == "相山区示例路1号"


# ---------------------------------------------------------------- moving to another region


def test_the_platform_admin_moves_an_organization_to_another_region(people):
    organization_update(actor=people.platform_admin, organization=people.acme, fields={"region": region("340621")})

    assert Organization.objects.get(pk=people.acme.pk).region.code == "340621"
    [event] = events_of(people.acme)
    assert event.changes == {"region": [region("340603").pk, region("340621").pk]}


@pytest.mark.parametrize("who,target", [("xiangshan_admin", "340621"), ("acme_admin", "340621"), ("acme_admin", None)])
def test_a_move_out_of_ones_own_region_is_refused(people, who, target):
    # A region administrator may not hand an organization to another region, nor its own admin move it.
    refused_changes_nothing(people, who, {"region": region(target) if target else None, "address": "濉溪县示例路2号"})


def test_an_organizations_admin_keeps_the_region_when_editing_other_fields(people):
    organization_update(
        actor=people.acme_admin, organization=people.acme, fields={"region": region("340603"), "address": "相山区"}
    )

    acme = Organization.objects.get(pk=people.acme.pk)
    assert (acme.region.code, acme.address) == ("340603", "相山区")
    assert events_of(acme)[0].changes == {"address": ["", "相山区"]}


# ---------------------------------------------------------------- checks


def test_the_credit_code_is_normalized(people):
    organization_update(actor=people.acme_admin, organization=people.acme, fields={"credit_code": f" {CODE.lower()} "})

    assert Organization.objects.get(pk=people.acme.pk).credit_code == CODE
    assert events_of(people.acme)[0].changes == {"credit_code": [None, CODE]}


def test_a_blank_credit_code_is_stored_as_none(people):
    Organization.objects.filter(pk=people.acme.pk).update(credit_code=CODE)

    organization_update(actor=people.acme_admin, organization=people.acme, fields={"credit_code": "  "})

    assert Organization.objects.get(pk=people.acme.pk).credit_code is None
    assert events_of(people.acme)[0].changes == {"credit_code": [CODE, None]}


@pytest.mark.parametrize(
    "code,message",
    [
        (CODE[:17] + ("1" if CODE[17] != "1" else "2"), f"统一社会信用代码校验位错误：应为 {CODE[17]}，实际为 "),
        ("91340603MA2T8K4Q", "统一社会信用代码应为 18 位，实际 16 位"),
        ("91340603MA2T8K4QIO", "统一社会信用代码含有不允许的字符：IO"),
    ],
)
def test_an_invalid_credit_code_is_rejected_and_nothing_changes(people, code, message):
    before = snapshot(Organization.objects.get(pk=people.acme.pk))

    with pytest.raises(ServiceError) as caught:
        organization_update(
            actor=people.acme_admin, organization=people.acme, fields={"credit_code": code, "address": "新地址"}
        )

    assert caught.value.code == ErrorCode.INVALID
    [problem] = caught.value.details["credit_code"]
    assert problem.startswith(message)
    assert set(caught.value.details) == {"credit_code"}
    assert snapshot(Organization.objects.get(pk=people.acme.pk)) == before
    assert events_of(people.acme) == []


def test_names_and_credit_codes_stay_unique(people):
    Organization.objects.filter(pk=people.rival.pk).update(credit_code=CODE)

    with pytest.raises(ServiceError) as caught:
        organization_update(
            actor=people.platform_admin,
            organization=people.acme,
            fields={"name": "濉溪示例锂电有限公司", "credit_code": CODE},
        )

    assert caught.value.details == {
        "name": ["具有 单位名称 的 单位 已存在。"],
        "credit_code": ["具有 统一社会信用代码 的 单位 已存在。"],
    }
    assert Organization.objects.get(pk=people.acme.pk).name == "淮北示例陶铝科技有限公司"


def test_full_clean_validates_the_fields(people):
    with pytest.raises(ServiceError) as caught:
        organization_update(
            actor=people.acme_admin, organization=people.acme, fields={"kind": "pirate", "contact_email": "不是邮箱"}
        )

    assert caught.value.details == {
        "kind": ["值 'pirate' 不是有效选项。"],
        "contact_email": ["输入一个有效的 Email 地址。"],
    }


@pytest.mark.parametrize("name", ["created_by", "created_at", "id", "no_such_field"])
def test_bookkeeping_and_unknown_fields_cannot_be_set(people, name):
    with pytest.raises(ServiceError) as caught:
        organization_update(actor=people.platform_admin, organization=people.acme, fields={name: None})

    assert (caught.value.code, caught.value.message) == (ErrorCode.INVALID, f"不能设置字段：{name}")
    assert events_of(people.acme) == []


# ---------------------------------------------------------------- what is written


def test_an_update_that_changes_nothing_writes_nothing(people):
    acme = Organization.objects.get(pk=people.acme.pk)
    version = content_version()

    organization_update(
        actor=people.acme_admin, organization=acme, fields={"name": acme.name, "contact_phone": acme.contact_phone}
    )

    assert Organization.objects.get(pk=acme.pk).updated_at == acme.updated_at
    assert events_of(acme) == []
    assert content_version() == version


def test_only_the_changed_columns_are_saved_from_the_current_row(people):
    # Given a stale copy of acme, and a change to another column made meanwhile
    stale = people.acme
    Organization.objects.filter(pk=stale.pk).update(address="淮北市相山区人民路1号")

    # When the stale copy is used to change the description
    saved = organization_update(actor=people.acme_admin, organization=stale, fields={"description": "新简介"})

    # Then the other change survives, and the event names only the description
    acme = Organization.objects.get(pk=stale.pk)
    assert (acme.address, acme.description) == ("淮北市相山区人民路1号", "新简介")
    assert saved.address == "淮北市相山区人民路1号"
    assert events_of(acme)[0].changes == {"description": ["", "新简介"]}


# ---------------------------------------------------------------- the admin saves through the services


ADMIN_PERMISSIONS = ("add_organization", "change_organization", "view_organization")
INLINES = ("certifications", "facts", "memberships")


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="organizations", codename__in=ADMIN_PERMISSIONS)
    )
    return user


def admin_form(**fields) -> dict:
    data = {
        "name": "",
        "kind": "enterprise",
        "credit_code": "",
        "region": "",
        "division": "",
        "address": "",
        "website": "",
        "description": "",
        "contact_name": "",
        "contact_phone": "",
        "contact_email": "",
        "is_public": "on",
        "_save": "保存",
    }
    for prefix in INLINES:
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    data.update(fields)
    return data


def test_the_admin_adds_an_organization_through_the_service(people, client):
    client.force_login(staff(people.platform_admin))

    response = client.post(
        "/admin/organizations/organization/add/",
        admin_form(name="相山示例检测中心", kind="service_provider", credit_code=CODE, region=region("340603").pk),
    )

    assert response.status_code == 302
    organization = Organization.objects.get(name="相山示例检测中心")
    assert (organization.created_by, organization.credit_code, organization.region.code) == (
        people.platform_admin,
        CODE,
        "340603",
    )
    [event] = events_of(organization)
    assert (event.action, event.actor) == ("create", people.platform_admin)
    assert event.changes["name"] == [None, "相山示例检测中心"]


def test_the_admin_changes_an_organization_through_the_service(people, client):
    organization = OrganizationFactory(name="相山示例研究所", kind="research_institute", contact_phone="0561-1111111")
    client.force_login(staff(people.xiangshan_admin))

    response = client.post(
        f"/admin/organizations/organization/{organization.pk}/change/",
        admin_form(
            name="相山示例研究所",
            kind="research_institute",
            region=region("340603").pk,
            contact_name="张工",
            contact_phone="0561-2222222",
            contact_email="contact@example.com",
            description="面向煤化工的分析测试",
        ),
    )

    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.contact_phone, organization.description) == ("0561-2222222", "面向煤化工的分析测试")
    [event] = events_of(organization)
    assert (event.action, event.actor) == ("update", people.xiangshan_admin)
    assert event.changes == {
        "contact_phone": ["0561-1111111", "0561-2222222"],
        "description": ["", "面向煤化工的分析测试"],
    }


def test_the_admin_refuses_a_change_the_service_refuses(people, client):
    # Given a staff user with the admin's change permission who administers 濉溪县, not acme's 相山区
    client.force_login(staff(people.suixi_admin))
    before = snapshot(Organization.objects.get(pk=people.acme.pk))

    response = client.post(
        f"/admin/organizations/organization/{people.acme.pk}/change/",
        admin_form(
            name="被篡改的名称",
            region=region("340603").pk,
            contact_name="张工",
            contact_phone="13912345678",
            contact_email="contact@example.com",
        ),
    )

    assert response.status_code == 403
    assert snapshot(Organization.objects.get(pk=people.acme.pk)) == before
    assert events_of(people.acme) == []
