"""Pages of 政策兑现. Each view parses its input, calls one selector or service, and renders.

A refused read is a 404 (``get_object_for``); a refused write is the 403 page and changes nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from techtransfer.core.access import AccessDenied, actor_of, get_object_for, may_edit
from techtransfer.core.errors import ServiceError
from techtransfer.organizations.models import Organization
from techtransfer.portal.views import forbidden

from . import access, engine, forms, selectors, services
from .choices import ApplicationStatus, PolicyErrorCode
from .facts import facts_for_organization
from .models import Application, Entitlement, Notice, Policy, PolicyClause


def policy_list(request):
    form = forms.PolicyFilterForm(request.GET)
    form.is_valid()
    found = selectors.policy_list(q=form.cleaned_data.get("q", ""), level=form.cleaned_data.get("level", ""))
    page = Paginator(found, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "policies/policy_list.html",
        {
            "form": form,
            "page": page,
            "is_staff": access.is_policy_staff(request.user),
            "may_edit": access.can_edit_library(request.user),
        },
    )


def policy_detail(request, pk):
    policy = get_object_or_404(Policy, pk=pk)
    return render(
        request,
        "policies/policy_detail.html",
        {
            "policy": policy,
            "clauses": selectors.policy_clauses(policy),
            "notices": selectors.notice_list(policy=policy),
            "may_edit": access.can_edit_library(request.user),
            "today": timezone.localdate(),
        },
    )


@login_required
def policy_edit(request, pk=None):
    """Add a policy, or change its own fields and application guide (platform administrators)."""
    policy = get_object_or_404(Policy, pk=pk) if pk else None
    if not access.can_edit_library(request.user):
        return forbidden(request)
    form_class = forms.PolicyForm if policy else forms.NewPolicyForm
    form = form_class(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "engine_id"}
        try:
            saved = services.policy_save(
                actor=request.user,
                policy=policy,
                engine_id=form.cleaned_data.get("engine_id", ""),
                fields=fields,
                request=request,
            )
        except AccessDenied as exc:
            return forbidden(request, exc.message)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("政策“%(t)s”已保存。") % {"t": saved.title})
            return redirect("policies:detail", pk=saved.pk)
    return render(request, "policies/policy_form.html", {"policy": policy, "form": form})


@login_required
def policy_text_import(request, pk):
    """导入政策原文: a text file, normalized like the matching pipeline, becomes the policy's full text."""
    policy = get_object_or_404(Policy, pk=pk)
    if not access.can_edit_library(request.user):
        return forbidden(request)
    form = forms.TextImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = services.policy_text_import(
                actor=request.user,
                policy=policy,
                data=upload.read(),
                filename=upload.name,
                dry_run=form.cleaned_data["dry_run"],
                request=request,
            )
        except AccessDenied as exc:
            return forbidden(request, exc.message)
        except ServiceError as exc:
            form.add_error("file", exc.message)
        else:
            if not report.dry_run:
                messages.success(request, report.summary())
                return redirect("policies:detail", pk=policy.pk)
    return render(
        request,
        "policies/text_import.html",
        {"policy": policy, "form": form, "report": report, "preview": report.text.paragraphs[:5] if report else []},
    )


@login_required
def clause_edit(request, policy_pk, pk=None):
    policy = get_object_or_404(Policy, pk=policy_pk)
    clause = get_object_or_404(PolicyClause, pk=pk, policy=policy) if pk else None
    if not access.can_edit_library(request.user):
        return forbidden(request)
    form_class = forms.ClauseForm if clause else forms.NewClauseForm
    form = form_class(request.POST or None, instance=clause)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "clause_id"}
        try:
            saved = services.clause_save(
                actor=request.user,
                policy=policy,
                clause=clause,
                clause_id=form.cleaned_data.get("clause_id", ""),
                fields=fields,
                request=request,
            )
        except AccessDenied as exc:
            return forbidden(request, exc.message)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("条款“%(t)s”已保存，并已通过规则校验。") % {"t": saved.title})
            return redirect("policies:detail", pk=policy.pk)
    return render(request, "policies/clause_form.html", {"policy": policy, "clause": clause, "form": form})


@login_required
def notice_create(request, policy_pk):
    policy = get_object_or_404(Policy, pk=policy_pk)
    if not access.can_edit_library(request.user):
        return forbidden(request)
    form = forms.NoticeForm(request.POST or None, policy=policy)
    if request.method == "POST" and form.is_valid():
        try:
            services.notice_create(actor=request.user, policy=policy, fields=form.cleaned_data, request=request)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("申报通知已发布。"))
            return redirect("policies:detail", pk=policy.pk)
    return render(request, "policies/notice_form.html", {"policy": policy, "form": form})


@login_required
def my_policies(request):
    return render(request, "policies/mine.html", {"rows": selectors.my_entitlements(user=request.user)})


@login_required
def staff_overview(request):
    if not access.is_policy_staff(request.user):
        return forbidden(request)
    period = request.GET.get("period")
    period = int(period) if period and period.isdigit() else None
    entitlements = selectors.entitlement_list(user=request.user, period=period)
    page = Paginator(entitlements, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "policies/staff.html",
        {
            "summary": selectors.staff_summary(user=request.user, period=period),
            "page": page,
            "period": period,
            "run_form": forms.RunForm() if access.can_run_batch(request.user) else None,
            "to_review": selectors.applications_to_review(user=request.user)[:50],
        },
    )


@login_required
@require_POST
def staff_run(request):
    form = forms.RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写评价年度和规则适用日期"))
        return redirect("policies:staff")
    try:
        run = services.entitlement_batch_run(actor=request.user, request=request, **form.cleaned_data)
    except AccessDenied as exc:
        return forbidden(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("政策匹配完成：%(n)s 家企业、%(c)s 个条款，保存 %(s)s 条结果。")
            % {"n": run.enterprises, "c": len(run.clauses), "s": run.counts["stored"]},
        )
    return redirect("policies:staff")


@login_required
@require_POST
def entitlement_action(request, pk, action):
    obj = get_object_for(request.user, Entitlement, pk)
    if action not in ("confirm", "pay"):
        return forbidden(request)
    try:
        if action == "confirm":
            services.entitlement_confirm(actor=request.user, entitlement=obj, request=request)
        else:
            form = forms.PaymentForm(request.POST)
            reference = form.cleaned_data["reference"] if form.is_valid() else ""
            services.payment_record(actor=request.user, reference=reference, entitlements=[obj], request=request)
    except AccessDenied as exc:
        return forbidden(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已确认。") if action == "confirm" else _("已登记拨付。"))
    return redirect("policies:staff")


def _fact_specs(clause: PolicyClause, on):
    library = engine.current_library()
    engine_clause = library.clause(clause.clause_id)
    versions = [v for v in engine_clause.versions if v.in_force(on)] or list(engine_clause.versions[-1:])
    return [f for f in library.catalogue if f.name in versions[0].facts]


@login_required
def apply(request, notice_pk):
    """The application form of a notice: the facts the rule reads (prefilled from the platform's data)."""
    notice = get_object_or_404(Notice.objects.select_related("clause", "policy"), pk=notice_pk)
    organizations = list(Organization.objects.filter(pk__in=actor_of(request.user).organization_ids))
    if not organizations:
        return forbidden(request, _("只有企业成员可以申报"))
    organization = organizations[0]
    existing = Application.objects.filter(notice=notice, organization=organization).first()
    if existing is not None:
        return redirect("policies:application", pk=existing.pk)
    specs = _fact_specs(notice.clause, min(timezone.localdate(), notice.closes_on))
    initial = facts_for_organization(organization, notice.period)
    form = forms.FactsForm(request.POST or None, facts=specs, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            app = services.application_create(
                actor=request.user, notice=notice, organization=organization, facts=form.facts(), request=request
            )
        except AccessDenied as exc:
            return forbidden(request, exc.message)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("申报已保存为草稿；上传材料后请提交。"))
            return redirect("policies:application", pk=app.pk)
    return render(request, "policies/apply.html", {"notice": notice, "organization": organization, "form": form})


@login_required
def application_list(request):
    found = selectors.application_list(user=request.user)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(request, "policies/application_list.html", {"page": page})


@login_required
def application_detail(request, pk):
    app = get_object_for(
        request.user, Application.objects.select_related("notice__policy", "clause", "organization"), pk
    )
    editable = may_edit(request.user, app)
    reviewer = access.may_review_organization(request.user, app.organization)
    facts_form = None
    if editable and app.status in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED):
        facts_form = forms.FactsForm(initial=app.facts, facts=_fact_specs(app.clause, app.notice.closes_on))
    return render(
        request,
        "policies/application_detail.html",
        {
            "app": app,
            "materials": app.materials.all(),
            "required_materials": app.notice.policy.materials,
            "facts_form": facts_form,
            "material_form": forms.MaterialForm() if facts_form else None,
            "review_form": forms.ReviewForm() if reviewer and app.status == ApplicationStatus.SUBMITTED else None,
            "payment_form": forms.PaymentForm() if reviewer and app.status == ApplicationStatus.APPROVED else None,
            "may_submit": facts_form is not None,
        },
    )


@login_required
@require_POST
def application_action(request, pk, action):
    app = get_object_for(request.user, Application.objects.select_related("notice", "clause"), pk)
    try:
        if action == "facts":
            form = forms.FactsForm(request.POST, facts=_fact_specs(app.clause, app.notice.closes_on))
            if not form.is_valid():  # an invalid field would otherwise drop out of the facts silently
                errors = "；".join(f"{form.fields[name].label}：{' '.join(e)}" for name, e in form.errors.items())
                raise ServiceError(PolicyErrorCode.INVALID, _("申报数据有误：%(e)s") % {"e": errors})
            services.application_update(actor=request.user, application=app, facts=form.facts(), request=request)
        elif action == "material":
            form = forms.MaterialForm(request.POST, request.FILES)
            if not form.is_valid():
                raise ServiceError(PolicyErrorCode.INVALID, _("请填写材料名称并选择文件"))
            services.application_material_add(actor=request.user, application=app, request=request, **form.cleaned_data)
        elif action == "submit":
            services.application_submit(actor=request.user, application=app, request=request)
        elif action == "review":
            form = forms.ReviewForm(request.POST)
            form.is_valid()
            services.application_review(
                actor=request.user,
                application=app,
                decision=form.cleaned_data.get("decision", ""),
                comment=form.cleaned_data.get("comment", ""),
                request=request,
            )
        elif action == "pay":
            form = forms.PaymentForm(request.POST)
            reference = form.cleaned_data["reference"] if form.is_valid() else ""
            services.payment_record(actor=request.user, reference=reference, applications=[app], request=request)
        else:
            return forbidden(request)
    except AccessDenied as exc:
        return forbidden(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("操作成功。"))
    return redirect("policies:application", pk=app.pk)
