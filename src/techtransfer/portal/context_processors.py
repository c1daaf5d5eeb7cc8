from django.conf import settings

from techtransfer.core.registry import KINDS

NAV = tuple((kind.slug, kind.label) for kind in KINDS.values())


def platform(request):
    """The platform's name and the registries for the navigation bar (no queries)."""
    return {"PLATFORM_NAME": settings.PLATFORM_NAME, "REGISTRY_NAV": NAV}
