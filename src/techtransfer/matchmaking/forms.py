from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import CounterpartKind
from .indexing import INDEXED_KINDS

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


class SearchForm(forms.Form):
    q = forms.CharField(label=_("描述您的问题或需求"), max_length=2000, required=False)
    kind = forms.ChoiceField(label=_("类别"), choices=KIND_CHOICES, required=False)


class MatchCreateForm(forms.Form):
    demand = forms.IntegerField(min_value=1)
    kind = forms.ChoiceField(choices=CounterpartKind.choices)
    counterpart = forms.IntegerField(min_value=1)
    notes = forms.CharField(label=_("备注"), max_length=2000, required=False)
    score = forms.FloatField(required=False)


class MatchAdvanceForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
