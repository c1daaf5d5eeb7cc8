"""A page cache for anonymous visitors, shared by the portal and the public API.

Anonymous GETs of public pages are the platform's bulk traffic (and what the portal benchmark
measures). Their responses do not depend on who asks, so each server process keeps them in its
local memory cache, keyed by path, query and language, and tagged with the content version. Every
registry write bumps that version in the same transaction, so a cached page never outlives the
data it shows.
"""

from django.core.cache import caches
from django.db.models import F
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

from .models import ContentVersion

KEY = "registries"
CACHE_ALIAS = "pages"
TIMEOUT = 300


def content_version() -> int:
    row = ContentVersion.objects.filter(key=KEY).values_list("value", flat=True).first()
    return row or 0


def request_content_version(request) -> int:
    """The content version, read at most once per request (the middleware may have read it already)."""
    version = getattr(request, "_content_version", None)
    if version is None:
        version = request._content_version = content_version()
    return version


def bump_content_version() -> None:
    """Call inside the transaction of a write that changes what public pages show."""
    updated = ContentVersion.objects.filter(key=KEY).update(value=F("value") + 1)
    if not updated:
        ContentVersion.objects.get_or_create(key=KEY, defaults={"value": 1})


def _cacheable_request(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        return False
    # A bearer token makes the API answer for that user.
    return "HTTP_AUTHORIZATION" not in request.META


class AnonymousPageCacheMiddleware:
    """Serve cached copies of anonymous GETs for the paths in ``CACHED_PREFIXES``."""

    CACHED_PREFIXES = ("/", "/api/v1/")
    EXCLUDED_PREFIXES = (
        "/admin/",
        "/accounts/",
        "/exchange/",
        "/static/",
        "/audit/",
        "/workspace/",
        "/api/v1/docs",
        "/bench/",
    )

    def __init__(self, get_response):
        self.get_response = get_response
        self.cache = caches[CACHE_ALIAS]

    def _key(self, request, version: int) -> str:
        return f"page:{version}:{get_language()}:{request.get_full_path()}"

    def __call__(self, request):
        if not _cacheable_request(request) or request.path.startswith(self.EXCLUDED_PREFIXES):
            return self.get_response(request)
        version = request_content_version(request)
        key = self._key(request, version)
        cached = self.cache.get(key)
        if cached is not None:
            cached["X-Page-Cache"] = "hit"
            return cached
        response = self.get_response(request)
        if (
            response.status_code == 200
            and not response.cookies
            and not response.streaming
            and not response.has_header("Cache-Control")
            and not getattr(request, "_page_cache_skip", False)
        ):
            patch_vary_headers(response, ("Cookie", "Accept-Language"))
            response["X-Page-Cache"] = "miss"
            if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
                response.render()
            self.cache.set(key, response, TIMEOUT)
        return response


def skip_page_cache(request) -> None:
    """For a view whose anonymous response must not be cached (it contains a CSRF token, say)."""
    request._page_cache_skip = True
