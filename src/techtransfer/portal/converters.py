"""``<kind:kind>`` in URLs: one of the registry slugs of ``core.registry.KINDS``; anything else is a 404."""

import re

from techtransfer.core.registry import KINDS, RegistryKind


class KindConverter:
    regex = "|".join(re.escape(slug) for slug in KINDS)

    def to_python(self, value: str) -> RegistryKind:
        return KINDS[value]

    def to_url(self, value) -> str:
        return value.slug if isinstance(value, RegistryKind) else str(value)
