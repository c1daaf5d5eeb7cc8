"""Every page works under the strict CSP: nothing inline, nothing from another host."""

import re

import pytest
from django.utils import timezone

from techtransfer.core.registry import KINDS
from techtransfer.core.tests.factories import REGISTRY_FACTORIES

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)


@pytest.fixture
def records(people):
    made = {}
    for factory in REGISTRY_FACTORIES.values():
        record = factory(organization=people.acme, status="published", published_at=timezone.now())
        made[type(record)._meta.label] = record
    return {slug: made[kind.model_label] for slug, kind in KINDS.items()}


def public_paths(records, people):
    paths = ["/", "/organizations/", f"/organizations/{people.acme.pk}/", "/accounts/login/", "/no-such-page/"]
    for slug, record in records.items():
        paths += [f"/{slug}/", f"/{slug}/?q=%E9%99%B6&page=1", f"/{slug}/{record.pk}/"]
    return paths


def member_paths(records):
    paths = ["/workspace/", "/accounts/password/"]
    for slug in records:
        paths += [f"/{slug}/new/"]
    return paths


def assert_clean(path, response):
    assert response.status_code in (200, 404), path
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
    html = response.content.decode()
    assert INLINE_SCRIPT.findall(html) == [], path
    assert STYLE_ATTRIBUTE.findall(html) == [], path
    assert STYLE_ELEMENT.findall(html) == [], path
    assert EVENT_HANDLER.findall(html) == [], path
    assert EXTERNAL.findall(html) == [], path


def test_public_pages_have_the_csp_and_nothing_inline_or_external(client, people, records):
    for path in public_paths(records, people):
        assert_clean(path, client.get(path))


def test_member_pages_have_the_csp_and_nothing_inline_or_external(client, people, records):
    client.force_login(people.acme_member)
    for path in public_paths(records, people) + member_paths(records):
        if path != "/accounts/login/":  # a logged-in user is sent on to the workspace
            assert_clean(path, client.get(path))
    draft = REGISTRY_FACTORIES["demand"](organization=people.acme)
    assert_clean("edit", client.get(f"/demands/{draft.pk}/edit/"))
    assert_clean("detail", client.get(f"/demands/{draft.pk}/"))


def test_reviewer_and_auditor_pages(client, people, records):
    client.force_login(people.xiangshan_admin)
    submitted = REGISTRY_FACTORIES["achievement"](organization=people.acme, status="submitted")
    assert_clean("review", client.get(f"/achievements/{submitted.pk}/"))
    client.force_login(people.auditor)
    assert_clean("audit", client.get("/audit/"))


def test_static_assets_are_local(client, people):
    html = client.get("/").content.decode()
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html) == [
        "data:,",  # no favicon request
        "/static/css/platform.css",
        "/static/vendor/htmx/htmx-2.0.11.min.js",
        "/static/js/portal.js",
    ]
    # htmx must not inject its indicator <style> element or evaluate code under the CSP
    assert '"includeIndicatorStyles": false, "allowEval": false' in html


def test_public_pages_set_no_cookie_so_they_can_be_cached(client, people, records):
    first = client.get("/achievements/")
    assert first.cookies == {}
    second = client.get("/achievements/")
    assert second["X-Page-Cache"] == "hit"


def test_language_switch_to_english_and_back(client, people):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/achievements/"})
    assert (response.status_code, response["Location"]) == (302, "/achievements/")
    english = client.get("/achievements/").content.decode()
    assert '<html lang="en">' in english
    assert '<button type="submit" name="language" value="zh-hans" class="link" lang="zh-CN">中文</button>' in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert '<html lang="zh-CN">' in client.get("/").content.decode()
