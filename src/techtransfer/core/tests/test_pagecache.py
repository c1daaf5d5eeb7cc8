import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from techtransfer.core.pagecache import AnonymousPageCacheMiddleware, bump_content_version, content_version
from techtransfer.core.services import record_transition
from techtransfer.core.tests.factories import DemandFactory


@pytest.fixture
def counting_view():
    calls = []

    def view(request):
        calls.append(request.get_full_path())
        return HttpResponse(f"第 {len(calls)} 次渲染")

    return view, calls


def anonymous_get(path):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return request


@pytest.mark.django_db
def test_second_anonymous_get_is_served_from_cache(counting_view):
    view, calls = counting_view
    middleware = AnonymousPageCacheMiddleware(view)
    first = middleware(anonymous_get("/demands/?q=%E7%94%B5%E6%B1%A0"))
    second = middleware(anonymous_get("/demands/?q=%E7%94%B5%E6%B1%A0"))
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert second.content.decode() == "第 1 次渲染"
    assert calls == ["/demands/?q=%E7%94%B5%E6%B1%A0"]


@pytest.mark.django_db
def test_a_write_makes_cached_pages_stale(people, counting_view):
    view, calls = counting_view
    middleware = AnonymousPageCacheMiddleware(view)
    middleware(anonymous_get("/"))
    demand = DemandFactory(organization=people.acme, status="approved")
    before = content_version()
    record_transition(obj=demand, actor=people.acme_admin, action="publish")
    assert content_version() == before + 1
    assert middleware(anonymous_get("/")).content.decode() == "第 2 次渲染"


@pytest.mark.django_db
def test_logged_in_and_token_requests_bypass_the_cache(people, counting_view):
    view, calls = counting_view
    middleware = AnonymousPageCacheMiddleware(view)
    request = RequestFactory().get("/")
    request.user = people.acme_member
    middleware(request)
    middleware(request)
    token_request = anonymous_get("/api/v1/demands")
    token_request.META["HTTP_AUTHORIZATION"] = "Bearer tt_x"
    middleware(token_request)
    middleware(token_request)
    assert len(calls) == 4


@pytest.mark.django_db
def test_responses_that_set_cookies_are_not_cached():
    def view(request):
        response = HttpResponse("表单")
        response.set_cookie("csrftoken", "abc")
        return response

    middleware = AnonymousPageCacheMiddleware(view)
    first = middleware(anonymous_get("/x/"))
    second = middleware(anonymous_get("/x/"))
    assert "X-Page-Cache" not in first
    assert "X-Page-Cache" not in second


@pytest.mark.django_db
def test_bump_creates_the_counter():
    assert content_version() == 0
    bump_content_version()
    bump_content_version()
    assert content_version() == 2
