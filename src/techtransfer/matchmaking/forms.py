import functools

from django import forms
from django.utils.translation import gettext_lazy as _

from techtransfer.core.choices import CooperationMode, HighTechField
from techtransfer.portal.selectors import region_choices

from .choices import CounterpartKind
from .indexing import INDEXED_KINDS
from .selectors import SearchFilters

KIND_CHOICES = [("", _("全部"))] + [
    (s, label)
    for s, label in (
        ("achievements", _("科技成果")),
        ("demands", _("技术需求")),
        ("experts", _("专家")),
        ("instruments", _("大型仪器")),
    )
    if s in INDEXED_KINDS
]


ANY = ("", _("不限"))


class SearchForm(forms.Form):
    """The search page's query and filters, named as the registries' filter forms name them."""

    q = forms.CharField(label=_("描述您的问题或需求"), max_length=2000, required=False)
    kind = forms.ChoiceField(label=_("类别"), choices=KIND_CHOICES, required=False)
    field = forms.ChoiceField(label=_("技术领域"), choices=[ANY, *HighTechField.choices], required=False)
    region = forms.ChoiceField(label=_("区域"), required=False)
    readiness_min = forms.TypedChoiceField(
        label=_("技术就绪度不低于"),
        choices=[ANY, *((n, f"TRL {n}") for n in range(1, 10))],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("只查找科技成果"),
    )
    transfer_mode = forms.ChoiceField(label=_("转化/合作方式"), choices=[ANY, *CooperationMode.choices], required=False)

    def __init__(self, data=None):
        super().__init__(data)
        # Evaluated once, and only when needed (validating a value, or rendering the form): one query.
        self.fields["region"].choices = functools.cache(lambda: [ANY, *region_choices()])

    def filters(self) -> SearchFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        return SearchFilters(
            region=data.get("region") or "",
            field=data.get("field") or "",
            readiness_min=data.get("readiness_min"),
            transfer_mode=data.get("transfer_mode") or "",
        )


class MatchCreateForm(forms.Form):
    demand = forms.IntegerField(min_value=1)
    kind = forms.ChoiceField(choices=CounterpartKind.choices)
    counterpart = forms.IntegerField(min_value=1)
    notes = forms.CharField(label=_("备注"), max_length=2000, required=False)
    score = forms.FloatField(required=False)


class MatchAdvanceForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
