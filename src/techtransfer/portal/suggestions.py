"""智能推荐 on the record forms and in the API: a discipline and a technology field suggested from the text typed.

The classifier is ``techtransfer.fieldsuggest`` (framework-free, its models loaded once per process on first use);
this module says, per registry kind, which form fields make the text and which fields a suggestion fills, turns
the model's answer into what the panel and the API show, and puts an applied suggestion into the form's data.
It reads nothing from the database.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from techtransfer.core.choices import HighTechField
from techtransfer.fieldsuggest import model as fieldsuggest

#: Fewer characters (after stripping) and there is nothing to classify: the panel asks for more, the API refuses.
MIN_TEXT_CHARS = 10
#: The API refuses longer texts; the panel classifies only their beginning. The model's cost grows with the text.
MAX_TEXT_CHARS = 20_000
DEFAULT_K = 3

ModelMissing = fieldsuggest.ModelMissing


@dataclass(frozen=True)
class SuggestionSpec:
    """Which form fields of a kind make the text, and which fields the two suggestions fill (None: not this kind)."""

    text_fields: tuple[str, ...]
    discipline_field: str | None = None
    field_field: str | None = None
    #: ``field_field`` is a group of check boxes (``MultiChoiceField``): applying adds a field, never removes one.
    field_is_multi: bool = False

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(name for name in (self.discipline_field, self.field_field) if name)


#: Every kind with a discipline or a high-tech field (instruments have neither).
SPECS = {
    "achievements": SuggestionSpec(("title", "abstract"), discipline_field="discipline", field_field="high_tech_field"),
    "demands": SuggestionSpec(("title", "description"), field_field="fields", field_is_multi=True),
    "experts": SuggestionSpec(
        ("expertise", "bio"), discipline_field="discipline", field_field="fields", field_is_multi=True
    ),
    "commissioners": SuggestionSpec(("expertise",), field_field="fields", field_is_multi=True),
    "pilotbases": SuggestionSpec(("name", "capabilities"), field_field="fields", field_is_multi=True),
}

HIGH_TECH_LABELS = dict(HighTechField.choices)


@dataclass(frozen=True)
class Suggestion:
    label: str  # what the model says: a discipline, or one of the market's 11 technology fields
    probability: float
    #: The value the form field takes: the discipline itself, the ``HighTechField`` value, or "" (no equivalent).
    value: str = ""

    @property
    def percent(self) -> str:
        return f"{self.probability * 100:.1f}%"

    @property
    def value_label(self) -> str:
        """How the form shows ``value`` (the high-tech field's Chinese name)."""
        return str(HIGH_TECH_LABELS.get(self.value, self.value))


@dataclass(frozen=True)
class FieldSuggestions:
    disciplines: list[Suggestion]
    fields: list[Suggestion]


def text_of(spec: SuggestionSpec, data) -> str:
    """The record's text as the model was trained on it: its non-empty text fields joined by 。."""
    parts = [str(data.get(name) or "").strip() for name in spec.text_fields]
    return "。".join(part for part in parts if part)


def is_too_short(text: str) -> bool:
    return len(text.strip()) < MIN_TEXT_CHARS


def too_short_message() -> str:
    return _("文字太短：至少需要 %(n)d 个字才能推荐学科和技术领域。") % {"n": MIN_TEXT_CHARS}


def model_missing_message() -> str:
    return _("智能推荐暂不可用：推荐模型文件缺失，请联系平台管理员。")


def suggest_fields(text: str, *, k: int = DEFAULT_K, disciplines: bool = True, fields: bool = True) -> FieldSuggestions:
    """The ``k`` likeliest disciplines and technology fields of ``text``; raises ``ModelMissing``."""
    text = text[:MAX_TEXT_CHARS]
    discipline_list = (
        [Suggestion(label, p, label) for label, p in fieldsuggest.suggest(text, k, target="discipline")]
        if disciplines
        else []
    )
    field_list = (
        [
            Suggestion(label, p, fieldsuggest.HIGH_TECH_FIELD_OF.get(label) or "")
            for label, p in fieldsuggest.suggest(text, k, target="field")
        ]
        if fields
        else []
    )
    return FieldSuggestions(disciplines=discipline_list, fields=field_list)


def discipline_labels() -> frozenset[str]:
    """The disciplines the shipped model knows (what a discipline suggestion may apply); raises ``ModelMissing``."""
    return frozenset(fieldsuggest.shipped_model("discipline").labels)


# ---------------------------------------------------------------- the panel and the apply button


class NotApplicable(ValueError):
    """A suggestion the form cannot take (an unknown field or value); ``message`` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _current_values(data, name: str, *, multi: bool) -> list[str]:
    if multi:
        return [v for v in data.getlist(name) if v]
    value = (data.get(name) or "").strip()
    return [value] if value else []


def _shown(value: str) -> str:
    return str(HIGH_TECH_LABELS.get(value, value))


def _apply_state(current: list[str], value: str, *, multi: bool) -> str:
    """What a suggestion's button offers: ``add`` (an empty field, or one more box to tick), ``replace`` (the field
    holds something else, and the button says what) or ``applied`` (already there: no button)."""
    if value in current:
        return "applied"
    return "add" if multi or not current else "replace"


def panel(spec: SuggestionSpec, model, data) -> dict:
    """What the 智能推荐 panel shows for the form ``data`` as typed: ``hint`` (too short, or no model) or
    ``groups``, one per field a suggestion fills, each row with the suggestion and its button's state."""
    text = text_of(spec, data)
    if is_too_short(text):
        return {"hint": too_short_message(), "groups": []}
    try:
        result = suggest_fields(text, disciplines=bool(spec.discipline_field), fields=bool(spec.field_field))
    except ModelMissing:
        return {"hint": model_missing_message(), "groups": []}
    groups = []
    for name, items, multi in (
        (spec.discipline_field, result.disciplines, False),
        (spec.field_field, result.fields, spec.field_is_multi),
    ):
        if not name:
            continue
        current = _current_values(data, name, multi=multi)
        rows = [
            {
                "suggestion": item,
                "state": _apply_state(current, item.value, multi=multi) if item.value else "",
                "current": "、".join(_shown(v) for v in current if v != item.value),
            }
            for item in items
        ]
        groups.append({"name": name, "label": model._meta.get_field(name).verbose_name, "rows": rows})
    return {"hint": "", "groups": groups}


def apply(spec: SuggestionSpec, data, *, target: str, value: str):
    """``data`` (a copy) with ``value`` put into the field ``target``, and a sentence saying what changed.

    A discipline replaces the text typed (the sentence names it); a technology field is ticked beside those already
    ticked. Raises ``NotApplicable`` for a field or value the model cannot suggest."""
    if target not in spec.targets:
        raise NotApplicable(_("没有可以填入推荐的栏目“%(name)s”") % {"name": target})
    try:
        known = discipline_labels() if target == spec.discipline_field else frozenset(HighTechField.values)
    except ModelMissing:
        raise NotApplicable(model_missing_message()) from None
    if value not in known:
        raise NotApplicable(_("“%(value)s”不是可推荐的值") % {"value": value})
    multi = target == spec.field_field and spec.field_is_multi
    data = data.copy()
    previous = _current_values(data, target, multi=multi)
    if multi:
        data.setlist(target, previous if value in previous else [*previous, value])
        return data, _("已勾选推荐的“%(value)s”。") % {"value": _shown(value)}
    data[target] = value
    before = "、".join(_shown(v) for v in previous if v != value)
    if before:
        return data, _("已将“%(before)s”改为推荐的“%(value)s”。") % {"before": before, "value": _shown(value)}
    return data, _("已填入推荐的“%(value)s”。") % {"value": _shown(value)}
