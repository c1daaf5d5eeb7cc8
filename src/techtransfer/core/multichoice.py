"""Several choices in one column, stored as ``,a,b,`` so that ``__contains=",a,"`` filters on any database."""

from collections.abc import Iterable

from django import forms


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


class MultiChoiceField(forms.MultipleChoiceField):
    """A ``,a,b,`` column as a group of check boxes; cleans to the stored string."""

    widget = forms.CheckboxSelectMultiple

    def prepare_value(self, value):
        if isinstance(value, str):
            return decode(value)
        return value

    def clean(self, value):
        return encode(super().clean(value))

    def has_changed(self, initial, data):
        return set(self.prepare_value(initial) or []) != set(data or [])
