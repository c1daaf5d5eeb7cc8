"""Forms that parse what people type into what the services and selectors take.

They validate only the shape of the input (a number, a known choice, a line per item); the
services validate the content (``full_clean``) and their messages come back onto these fields.
"""

import copy
import re
from functools import cache

from django import forms
from django.db import models
from django.forms.utils import flatatt
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from techtransfer.achievements.choices import IPKind
from techtransfer.audit.choices import EventAction
from techtransfer.core import access
from techtransfer.core.models import IndustryCode
from techtransfer.core.multichoice import MultiChoiceField
from techtransfer.core.registry import KINDS, RegistryKind
from techtransfer.organizations.choices import OrganizationKind
from techtransfer.regions.models import Region

from . import display, selectors, suggestions

ANY = ("", gettext_lazy("不限"))


def _percent_format(template, **values) -> str:
    return str(template) % {k: v() if callable(v) else v for k, v in values.items()}


# ``template % values``, evaluated when shown (so in the language of that request).
lazy_format = lazy(_percent_format, str)


# Bookkeeping that no form sets: the workflow, the services and the admin own these.
NOT_IN_FORMS = frozenset(
    {
        "id",
        "status",
        "created_by",
        "created_at",
        "updated_at",
        "published_at",
        "review_comment",
        "is_example",
        "user",
        "scout",
    }
)
COMMON_TAIL = ("organization", "region", "contact_name", "contact_phone", "contact_email")
LIST_FIELDS = {"keywords": True, "owners": False, "completers": False}  # name → commas also separate items


# ---------------------------------------------------------------- custom fields


class LinesListField(forms.CharField):
    """A JSON list of names as text: one per line, or separated by 、 (and by commas if ``commas``)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *args, commas: bool = False, **kwargs):
        self.separators = re.compile(r"[\n\r、；;，,]+" if commas else r"[\n\r、；;]+")
        kwargs.setdefault(
            "help_text",
            gettext_lazy("每行一项，或用“、”分隔；按贡献排序") if not commas else gettext_lazy("用“、”或逗号分隔"),
        )
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in self.separators.split(text) if part.strip()]

    def has_changed(self, initial, data):
        return (initial or []) != self.to_python(data)


IP_KIND_BY_LABEL = {str(label): value for value, label in IPKind.choices}
IP_KIND_BY_TEXT = {**IP_KIND_BY_LABEL, **{value: value for value in IPKind.values}}  # a label or the code


class IPItemsField(forms.CharField):
    """Intellectual property as lines ``发明专利 ZL202310123456.6 [名称]``; cleans to the stored list."""

    widget = forms.Textarea(attrs={"rows": 4})

    def __init__(self, *args, **kwargs):
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.setdefault(
            "help_text",
            lazy_format(
                gettext_lazy("每行一项：类型 编号 [名称]，如“发明专利 ZL202310123456.6”。类型可为：%(kinds)s"),
                kinds=lambda: "、".join(str(label) for label in IPKind.labels),
            ),
        )
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(display.ip_item_text(item) for item in value if isinstance(item, dict))
        return value

    def to_python(self, value):
        text = super().to_python(value)
        items, errors = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split(None, 2)
            if not parts:
                continue
            kind = IP_KIND_BY_TEXT.get(parts[0])
            if kind is None:
                errors.append(
                    _("第 %(n)d 行：不认识的知识产权类型“%(k)s”（可用：%(kinds)s）")
                    % {"n": number, "k": parts[0], "kinds": "、".join(IP_KIND_BY_LABEL)}
                )
                continue
            if len(parts) < 2:
                errors.append(_("第 %(n)d 行：缺少编号") % {"n": number})
                continue
            item = {"kind": kind, "number": parts[1]}
            if len(parts) == 3:
                item["title"] = parts[2].strip()
            items.append(item)
        if errors:
            raise forms.ValidationError(errors)
        return items

    def has_changed(self, initial, data):
        try:
            return self.prepare_value(initial or []) != self.prepare_value(self.to_python(data))
        except forms.ValidationError:
            return True


class LongSelect(forms.Select):
    """A ``<select>`` for code lists of thousands of entries (GB/T 4754), rendered without a template per option."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        selected = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((str(v), mark_safe(" selected") if str(v) == selected else "", label) for v, label in self.choices),
        )
        return format_html("<select{}>{}</select>", flatatt(attrs), options)


class TreeChoiceField(forms.ModelChoiceField):
    """A model choice shown in tree order with indented labels; choices are set by the form."""

    widget = LongSelect

    def set_tree_choices(self, choices):
        self.choices = [("", "---------"), *choices]


# ---------------------------------------------------------------- create / edit


def form_field_names(model) -> list[str]:
    own = [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in NOT_IN_FORMS and f.name not in COMMON_TAIL and f.editable
    ]
    return own + list(COMMON_TAIL)


def _formfield(model):
    multi = getattr(model, "MULTI_CHOICE_FIELDS", {})

    def formfield_callback(db_field, **kwargs):
        label = db_field.verbose_name
        required = not db_field.blank
        help_text = db_field.help_text
        if db_field.name in multi:
            return MultiChoiceField(
                choices=multi[db_field.name].choices, required=required, label=label, help_text=help_text
            )
        if db_field.name in LIST_FIELDS:
            return LinesListField(required=required, label=label, commas=LIST_FIELDS[db_field.name])
        if db_field.name == "ip_items":
            return IPItemsField(required=required, label=label)
        if db_field.name == "industry":
            return TreeChoiceField(queryset=IndustryCode.objects.all(), required=required, label=label)
        if db_field.name == "region":
            return TreeChoiceField(
                queryset=Region.objects.all(),
                required=False,
                label=label,
                help_text=gettext_lazy("留空则取所属单位的区域"),
            )
        if isinstance(db_field, models.DateField):
            kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        if isinstance(db_field, models.TextField):
            kwargs["widget"] = forms.Textarea(attrs={"rows": 4})
        return db_field.formfield(**kwargs)

    return formfield_callback


class RecordForm(forms.ModelForm):
    """Base of the per-registry forms (``record_form_class``)."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        organization = self.fields["organization"]
        organization.queryset = selectors.organization_choices_for_records(user)
        actor = access.actor_of(user)
        # Scouts and platform administrators may enter a record for no organization (a can_create rule).
        organization.required = not (actor.is_platform_admin or actor.has_role("scout"))
        self.fields["region"].set_tree_choices(selectors.region_choices(value="pk"))
        if "industry" in self.fields:
            self.fields["industry"].set_tree_choices(selectors.industry_choices())

    def _post_clean(self):
        # The service runs ``full_clean`` on the record it writes; its messages are added by
        # ``add_service_error``. The form itself only parses.
        pass

    def fields_for_service(self, *, changed_only: bool) -> dict:
        names = self.changed_data if changed_only else list(self.cleaned_data)
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}

    def add_service_error(self, error) -> None:
        """Put a ``ServiceError``'s messages on the fields they concern (the rest above the form)."""
        if not error.details:
            self.add_error(None, error.message)
            return
        for name, messages in error.details.items():
            target = name if name in self.fields else None
            if target is None and name != "__all__":
                messages = [f"{self._label_of(name)}：{m}" for m in messages]
            self.add_error(target, list(messages))

    def _label_of(self, name: str) -> str:
        return display.field_label(self._meta.model, name)


def record_form_class(kind: RegistryKind) -> type[RecordForm]:
    return _record_form_class(kind.slug)


#: Typing in a text box of this class refreshes the 智能推荐 panel; so does changing a field of the second class
#: (the panel says which suggestion is already there and what applying one would replace).
SUGGEST_SOURCE_CLASS = "suggest-source"
SUGGEST_TARGET_CLASS = "suggest-target"


@cache
def _record_form_class(slug: str) -> type[RecordForm]:
    kind = KINDS[slug]
    form_class = forms.modelform_factory(
        kind.model,
        form=RecordForm,
        fields=form_field_names(kind.model),
        formfield_callback=_formfield(kind.model),
    )
    spec = suggestions.SPECS.get(slug)
    if spec:
        for names, css_class in ((spec.text_fields, SUGGEST_SOURCE_CLASS), (spec.targets, SUGGEST_TARGET_CLASS)):
            for name in names:
                if name in form_class.base_fields:
                    form_class.base_fields[name].widget.attrs["class"] = css_class
    return form_class


def record_field_form(kind: RegistryKind, name: str, data) -> forms.Form:
    """A form of the one field ``name`` of ``kind``'s record form, bound to ``data``.

    Its widget renders exactly as in the record form (same name, id and choices), without the record form's
    database lookups: what applying a suggestion sends back in place of the field."""
    form = forms.Form(data)
    form.fields[name] = copy.deepcopy(record_form_class(kind).base_fields[name])
    return form


class ActionForm(forms.Form):
    comment = forms.CharField(label=gettext_lazy("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


# ---------------------------------------------------------------- list filters

BOOL_CHOICES = [ANY, ("1", gettext_lazy("是")), ("0", gettext_lazy("否"))]
FILTER_LABELS = {
    "region": gettext_lazy("区域"),
    "industry": gettext_lazy("国民经济行业"),
    "status": gettext_lazy("状态"),
    "field": gettext_lazy("技术领域"),
}
# What people filter on most comes first; the rest keep the registry's order; status comes last.
FILTER_ORDER = ("field", "industry", "region", "*", "status")
LOOKUP_SUFFIX = {"gte": gettext_lazy("不低于"), "lte": gettext_lazy("不高于")}
DATE_LOOKUP_SUFFIX = {"gte": gettext_lazy("不早于"), "lte": gettext_lazy("不晚于")}


def _filter_field(kind: RegistryKind, name: str, spec: str) -> forms.Field:
    model = kind.model
    if spec in {"region", "industry", "status"}:
        return forms.ChoiceField(label=FILTER_LABELS[spec], required=False)
    if spec.startswith("multi:"):
        db_field = model._meta.get_field(spec[6:])
        choices = model.MULTI_CHOICE_FIELDS[spec[6:]].choices
        return forms.ChoiceField(
            label=FILTER_LABELS.get(name, db_field.verbose_name), choices=[ANY, *choices], required=False
        )
    if spec == "bool":
        return forms.ChoiceField(label=model._meta.get_field(name).verbose_name, choices=BOOL_CHOICES, required=False)
    if name == "organization":
        return forms.IntegerField(required=False, widget=forms.HiddenInput)
    field_name, _sep, lookup = spec.partition("__")
    db_field = model._meta.get_field(field_name)
    if db_field.choices:
        label = FILTER_LABELS.get(name, db_field.verbose_name)
        return forms.ChoiceField(label=label, choices=[ANY, *db_field.choices], required=False)
    formfield = db_field.formfield(required=False)
    if isinstance(db_field, models.DateField):
        formfield.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        suffix = DATE_LOOKUP_SUFFIX.get(lookup, "")
    else:
        suffix = LOOKUP_SUFFIX.get(lookup, "")
    formfield.label = format_lazy("{}{}", db_field.verbose_name, suffix)
    formfield.help_text = ""
    return formfield


class RecordFilterForm(forms.Form):
    """Base of the per-registry filter forms (``filter_form_class``)."""

    registry: RegistryKind

    def __init__(self, data, *, user):
        super().__init__(data)
        self.fields["ordering"].choices = [("", _("默认排序")), *display.ordering_choices(self.registry)]
        if "status" in self.fields:
            self.fields["status"].choices = [ANY, *selectors.status_choices(kind=self.registry, user=user)]
        if "region" in self.fields:
            # Evaluated once, and only when needed (validating a value, or rendering the form).
            self.fields["region"].choices = cache(lambda: [ANY, *selectors.region_choices()])
        if "industry" in self.fields:
            self.fields["industry"].choices = cache(lambda: [ANY, *selectors.industry_choices(max_level=2)])

    def query(self) -> dict:
        """What to pass to ``record_list``; a value that does not parse is left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters = {
            name: value for name, value in data.items() if name in self.registry.filters and value not in (None, "")
        }
        for name in self.errors:
            # A choice the user may not pick (a status they cannot see, an unknown region) still
            # narrows the list, to nothing if need be; a number that does not parse is left out.
            if name in self.registry.filters and isinstance(self.fields[name], forms.ChoiceField):
                filters[name] = self.data.get(name)
        return {"filters": filters, "q": data.get("q", "") or "", "ordering": data.get("ordering", "") or ""}

    @property
    def status_is_fixed(self) -> bool:
        """True when the user can only ever see published records (no status to choose)."""
        return "status" in self.fields and len(self.fields["status"].choices) <= 2

    def visible_fields_for_filters(self):
        return [f for f in self.visible_fields() if f.name not in {"q", "ordering"}]


def filter_form_class(kind: RegistryKind) -> type[RecordFilterForm]:
    return _filter_form_class(kind.slug)


@cache
def _filter_form_class(slug: str) -> type[RecordFilterForm]:
    kind = KINDS[slug]
    fields = {
        "q": forms.CharField(
            label=gettext_lazy("关键词"),
            required=False,
            max_length=100,
            widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("名称、简介、关键词")}),
        )
    }
    names = sorted(kind.filters, key=lambda n: FILTER_ORDER.index(n if n in FILTER_ORDER else "*"))
    for name in names:
        fields[name] = _filter_field(kind, name, kind.filters[name])
    fields["ordering"] = forms.ChoiceField(label=gettext_lazy("排序"), required=False)
    return type(f"{kind.slug.title()}FilterForm", (RecordFilterForm,), {"registry": kind, **fields})


# ---------------------------------------------------------------- other pages


class OrganizationFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("名称或信用代码"), required=False, max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("单位类型"), required=False, choices=[ANY, *OrganizationKind.choices])
    region = forms.ChoiceField(label=gettext_lazy("区域"), required=False)

    def __init__(self, data):
        super().__init__(data)
        self.fields["region"].choices = cache(lambda: [ANY, *selectors.region_choices()])

    def query(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in ("q", "kind", "region")}


class AuditFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("关键词"), required=False, max_length=100)
    action = forms.ChoiceField(label=gettext_lazy("操作"), required=False, choices=[ANY, *EventAction.choices])
    actor = forms.CharField(label=gettext_lazy("操作人账号"), required=False, max_length=150)
    date_from = forms.DateField(
        label=gettext_lazy("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def query(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "action": data.get("action") or "",
            "actor": data.get("actor") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
