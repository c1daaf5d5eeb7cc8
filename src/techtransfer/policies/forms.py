"""Forms of 政策兑现: they parse input; the services (and the engine) validate the content."""

from django import forms
from django.utils.translation import gettext_lazy as _

from techtransfer.core.errors import ServiceError
from techtransfer.policy import FactType

from .choices import ClauseTrack, PolicyLevel
from .fulltext import TEXT_EXTENSIONS, check_size
from .models import Policy, PolicyClause


class ServiceErrorsMixin:
    def add_service_error(self, error) -> None:
        """A ``ServiceError``'s messages on the fields they concern, the rest above the form."""
        if not error.details:
            self.add_error(None, error.message)
            return
        for name, messages in error.details.items():
            if name in self.fields:
                self.add_error(name, list(messages))
            else:
                self.add_error(None, [f"{name}：{m}" if name != "__all__" else m for m in messages])


class PolicyFilterForm(forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    level = forms.ChoiceField(label=_("层级"), required=False, choices=[("", _("不限")), *PolicyLevel.choices])


class PolicyForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = Policy
        fields = [
            "title",
            "document_number",
            "issuer",
            "level",
            "valid_from",
            "valid_to",
            "summary",
            "guide_target",
            "guide_conditions",
            "guide_materials",
            "guide_time_limit",
            "guide_department",
            "guide_phone",
            "full_text",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_to": forms.DateInput(attrs={"type": "date"}),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "guide_target": forms.Textarea(attrs={"rows": 2}),
            "guide_conditions": forms.Textarea(attrs={"rows": 4}),
            "guide_materials": forms.Textarea(attrs={"rows": 4}),
            "full_text": forms.Textarea(attrs={"rows": 12}),
        }
        error_messages = {
            "valid_from": {"invalid": _("请填写有效的日期，如 2025-01-01")},
            "valid_to": {"invalid": _("请填写有效的日期，如 2025-01-01")},
        }

    def _post_clean(self):
        """No model validation here: ``policy_save`` does it (and re-checks the policy's clauses)."""


class NewPolicyForm(PolicyForm):
    engine_id = forms.RegexField(
        label=_("规则库编号"),
        regex=r"^[a-z][a-z0-9_]*$",
        max_length=80,
        help_text=_("小写字母、数字和下划线，如 huaibei_pilot_base_2026；保存后不能修改"),
        error_messages={"invalid": _("规则库编号只能由小写字母、数字和下划线组成，并以字母开头")},
    )

    field_order = ["engine_id"]


class TextImportForm(forms.Form):
    file = forms.FileField(
        label=_("政策原文文件"),
        help_text=_(".txt、.html 或 .md，UTF-8 或 GBK 编码，最大 2 MB；繁体、全角字符和拼音注音会自动规范化"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(TEXT_EXTENSIONS)}),
        error_messages={"required": _("请选择要导入的文件"), "empty": _("文件是空的")},
    )
    dry_run = forms.BooleanField(label=_("仅预览（不保存）"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_size(upload.size)  # refused before the upload is read into memory
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return upload


class ClauseForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = PolicyClause
        fields = [
            "title",
            "track",
            "benefit",
            "condition",
            "amount",
            "cap",
            "effective_from",
            "effective_to",
            "source_article",
            "source_quote",
            "is_active",
        ]
        widgets = {
            "condition": forms.Textarea(attrs={"rows": 4, "class": "mono"}),
            "amount": forms.Textarea(attrs={"rows": 2, "class": "mono"}),
            "cap": forms.Textarea(attrs={"rows": 1, "class": "mono"}),
            "source_quote": forms.Textarea(attrs={"rows": 3}),
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_to": forms.DateInput(attrs={"type": "date"}),
        }

    def _post_clean(self):
        """No model validation here: ``clause_save`` does it, and the engine checks the expressions."""


class NewClauseForm(ClauseForm):
    clause_id = forms.RegexField(
        label=_("条款编号"),
        regex=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$",
        max_length=80,
        help_text=_("小写字母、数字、下划线和点号，如 huaibei.new_reward"),
        error_messages={"invalid": _("条款编号只能由小写字母、数字、下划线和点号组成")},
    )

    field_order = ["clause_id"]


class NoticeForm(ServiceErrorsMixin, forms.Form):
    clause = forms.ModelChoiceField(label=_("申报条款"), queryset=PolicyClause.objects.none())
    title = forms.CharField(label=_("通知标题"), max_length=200)
    period = forms.IntegerField(label=_("申报年度"), min_value=1900, max_value=2200)
    opens_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    closes_on = forms.DateField(label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"}))
    body = forms.CharField(label=_("通知正文"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, policy, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clause"].queryset = policy.clauses.exclude(
            track__in=[ClauseTrack.EXEMPT, ClauseTrack.MONITOR]
        ).order_by("clause_id")


class FactsForm(ServiceErrorsMixin, forms.Form):
    """One field per fact the clause reads; blank means “not known” (the engine then reports it missing)."""

    def __init__(self, *args, facts, **kwargs):
        super().__init__(*args, **kwargs)
        for fact in facts:
            label = f"{fact.label}（{fact.unit}）" if fact.unit else fact.label
            if fact.type is FactType.BOOL:
                field = forms.TypedChoiceField(
                    label=label,
                    required=False,
                    choices=[("", _("未填")), ("true", _("是")), ("false", _("否"))],
                    coerce=lambda v: v == "true",
                    empty_value=None,
                )
            elif fact.type is FactType.ENUM:
                field = forms.ChoiceField(label=label, required=False, choices=[("", _("未填")), *fact.choices.items()])
            else:
                field = forms.CharField(label=label, required=False, max_length=30)
            field.help_text = fact.description
            self.fields[fact.name] = field

    def facts(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class MaterialForm(forms.Form):
    name = forms.CharField(label=_("材料名称"), max_length=200)
    file = forms.FileField(label=_("文件"))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("审核决定"), choices=[("approve", _("批准")), ("return", _("退回修改"))])
    comment = forms.CharField(label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class PaymentForm(forms.Form):
    reference = forms.CharField(label=_("拨付凭证号"), max_length=100)


class RunForm(forms.Form):
    period = forms.IntegerField(label=_("评价年度"), min_value=1900, max_value=2200)
    applied_on = forms.DateField(label=_("规则适用日期"), widget=forms.DateInput(attrs={"type": "date"}))
