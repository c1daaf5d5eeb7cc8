"""The Django admin: every model registered, in Chinese; the audit log read-only; registry edits audited."""

import re

import pytest
from django.contrib import admin
from django.utils import timezone

from techtransfer.audit.models import Event
from techtransfer.audit.services import log_event
from techtransfer.core.tests.factories import AchievementFactory, UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {
    "core",
    "accounts",
    "organizations",
    "regions",
    "achievements",
    "demands",
    "experts",
    "instruments",
    "pilotbases",
    "audit",
}


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_every_model_of_our_apps_is_registered():
    from django.apps import apps

    missing = [
        m._meta.label
        for app in OUR_APPS
        for m in apps.get_app_config(app).get_models()
        if m not in admin.site._registry
    ]
    assert missing == []


def test_every_changelist_opens_in_chinese(admin_client, people):
    AchievementFactory(organization=people.acme)
    index = admin_client.get("/admin/").content.decode()
    assert "科技成果转移转化平台 · 后台管理" in index
    for model in admin.site._registry:
        if model._meta.app_label not in OUR_APPS:
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = admin_client.get(url)
        assert response.status_code == 200, url
        title = re.search(r"<title>(.*?)</title>", response.content.decode()).group(1)
        assert title.startswith("选择") and str(model._meta.verbose_name) in title, (url, title)
        assert title.endswith("| 平台后台"), title


def test_audit_events_cannot_be_added_changed_or_deleted_even_by_a_superuser(admin_client, people):
    event = log_event(actor=people.acme_member, action="login", target=people.acme_member)
    assert admin_client.get("/admin/audit/event/add/").status_code == 403
    change = admin_client.get(f"/admin/audit/event/{event.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert 'name="_save"' not in html
    assert "查看 审计事件" in html
    assert admin_client.post(f"/admin/audit/event/{event.pk}/change/", {"comment": "x"}).status_code == 403
    assert admin_client.get(f"/admin/audit/event/{event.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/audit/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.comment == ""


def test_an_admin_edit_of_a_draft_goes_through_the_service_and_is_audited(admin_client, people):
    record = AchievementFactory(organization=people.acme, title="原标题")
    form = admin_client.get(f"/admin/achievements/achievement/{record.pk}/change/").content.decode()
    data = {
        name: value
        for name, value in re.findall(r'<input type="(?:text|number|email)" name="(\w+)" value="([^"]*)"', form)
    }
    data.update(
        {
            "title": "后台修改的标题",
            "abstract": record.abstract,
            "keywords": '["陶铝", "复合材料"]',
            "kind": "applied",
            "stage": "mature",
            "high_tech_field": "new_materials",
            "ip_items": "[]",
            "owners": "[]",
            "completers": "[]",
            "transfer_modes": ["transfer", "license"],
            "organization": str(people.acme.pk),
            "region": str(record.region_id),
        }
    )
    response = admin_client.post(f"/admin/achievements/achievement/{record.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    record.refresh_from_db()
    assert record.title == "后台修改的标题"
    event = Event.objects.get(target_id=str(record.pk), action="update")
    assert (event.actor_name, event.changes) == ("root", {"title": ["原标题", "后台修改的标题"]})


def test_a_published_record_is_read_only_in_the_admin(admin_client, people):
    record = AchievementFactory(organization=people.acme, status="published", published_at=timezone.now())
    html = admin_client.get(f"/admin/achievements/achievement/{record.pk}/change/").content.decode()
    assert 'name="title"' not in html
    assert admin_client.get(f"/admin/achievements/achievement/{record.pk}/delete/").status_code == 403
