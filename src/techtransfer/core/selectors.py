"""Reads shared by every registry: the filtered, searched and ordered list a user may see.

Pages, the API and exports all call ``record_list`` so that one filter means the same thing
everywhere. Each model declares what it can be filtered on (``LIST_FILTERS``), searched in
(``SEARCH_FIELDS``) and ordered by (``ORDERINGS``), in ``registry.py``.
"""

from django.db.models import Q

from . import multichoice
from .registry import RegistryKind
from .search import keyword_q

INDUSTRY_ANCESTRY = (
    "industry_id",
    "industry__parent_id",
    "industry__parent__parent_id",
    "industry__parent__parent__parent_id",
)


def industry_q(code: str) -> Q:
    """An industry code at any level (``C``, ``38``, ``384``, ``3841``) matches itself and everything below."""
    q = Q()
    for lookup in INDUSTRY_ANCESTRY:
        q |= Q(**{lookup: code})
    return q


def apply_filters(kind: RegistryKind, queryset, filters: dict):
    for name, value in filters.items():
        if value in (None, "", []):
            continue
        spec = kind.filters.get(name)
        if spec is None:
            continue
        if spec == "region":
            queryset = queryset.filter(region__path__contains=f"/{value}/")
        elif spec == "industry":
            queryset = queryset.filter(industry_q(str(value)))
        elif spec.startswith("multi:"):
            queryset = queryset.filter(**{f"{spec[6:]}__contains": multichoice.contains(str(value))})
        elif spec == "bool":
            queryset = queryset.filter(**{name: str(value).lower() in {"1", "true", "yes", "on"}})
        else:
            queryset = queryset.filter(**{spec: value})
    return queryset


def record_list(*, kind: RegistryKind, user, filters: dict | None = None, q: str = "", ordering: str = ""):
    """The records of ``kind`` that ``user`` may see, filtered, searched and ordered."""
    queryset = kind.model.objects.visible_to(user).select_related(*kind.select_related)
    queryset = apply_filters(kind, queryset, filters or {})
    if q.strip():
        queryset = queryset.filter(keyword_q(kind, q.strip()))
    order = ordering if ordering.lstrip("-") in kind.orderings else kind.default_ordering
    return queryset.order_by(order, "-id")
