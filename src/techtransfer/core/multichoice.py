"""Several choices in one column, stored as ``,a,b,`` so that ``__contains=",a,"`` filters on any database."""

from collections.abc import Iterable


def encode(values: Iterable[str]) -> str:
    items = [v for v in dict.fromkeys(v.strip() for v in values) if v]
    return f",{','.join(items)}," if items else ""


def decode(stored: str) -> list[str]:
    return [v for v in (stored or "").split(",") if v]


def contains(value: str) -> str:
    return f",{value},"


def labels(stored: str, choices) -> list[str]:
    names = dict(choices.choices)
    return [str(names.get(v, v)) for v in decode(stored)]
