"""Portal pages. Each view parses its input, calls one selector or service, and renders.

Who may see or change what is decided in ``core.access`` (through ``get_object_for``,
``visible_to`` and the services): a record the user may not see is a 404, a write they may not
make is a 403 page and changes nothing.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from techtransfer.accounts.choices import Role
from techtransfer.audit.selectors import event_search, event_timeline
from techtransfer.core import access, services
from techtransfer.core import selectors as core_selectors
from techtransfer.core.choices import RecordStatus, WorkflowAction
from techtransfer.core.errors import ErrorCode, ServiceError
from techtransfer.core.pagecache import request_content_version, skip_page_cache
from techtransfer.core.pagination import IdFirstPaginator
from techtransfer.core.registry import KINDS
from techtransfer.core.workflow import EDITABLE_STATES, TRANSITIONS
from techtransfer.organizations.models import Organization

from . import display, forms, selectors, suggestions

PAGE_SIZE = 20
STATUS_LABELS = dict(RecordStatus.choices)
AUDIT_PAGE_SIZE = 50
RECOMMENDING_KINDS = frozenset({"achievements", "demands"})  # matchmaking recommends for these published records

# The language switch in the header is a form on every page. Without a CSRF token there, public
# pages set no cookie and stay cacheable; switching the display language is harmless to forge.
set_language = csrf_exempt(require_POST(django_set_language))


def forbidden(request, message: str | None = None):
    return render(request, "403.html", {"message": message or _("您没有执行此操作的权限")}, status=403)


def _page(request, queryset, size: int, paginator_class=Paginator):
    return paginator_class(queryset, size).get_page(request.GET.get("page"))


# ---------------------------------------------------------------- home


def home(request):
    figures = selectors.home_figures_cached(version=request_content_version(request))
    return render(
        request,
        "portal/home.html",
        {
            "figures": figures,
            "registry_figures": [(kind, figures.published[slug]) for slug, kind in KINDS.items()],
        },
    )


# ---------------------------------------------------------------- registries


def record_list(request, kind):
    form = forms.filter_form_class(kind)(request.GET, user=request.user)
    records = core_selectors.record_list(kind=kind, user=request.user, **form.query())
    page = _page(request, records.defer(*display.list_deferred_fields(kind)), PAGE_SIZE, IdFirstPaginator)
    context = {
        "kind": kind,
        "form": form,
        "page": page,
        "rows": [(obj, getattr(obj, kind.title_field), display.row_cells(kind, obj)) for obj in page.object_list],
        "title_label": kind.model._meta.get_field(kind.title_field).verbose_name,
        "columns": display.column_labels(kind),
        "show_status": not form.status_is_fixed,
        "may_create": selectors.may_create_records(request.user),
        "organization_filter": selectors.organization_named(
            user=request.user, pk=form.cleaned_data.get("organization")
        ),
    }
    if request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request"):
        # Only the results: the page cache keys on the URL alone, so partials are never cached.
        skip_page_cache(request)
        response = render(request, "portal/_results.html", context)
    else:
        response = render(request, "portal/list.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _action_buttons(actions: list[str]) -> list[dict]:
    buttons = []
    for action in actions:
        transition = TRANSITIONS[action]
        buttons.append(
            {
                "action": action,
                "label": WorkflowAction(action).label,
                "comment": "required"
                if transition.needs_comment
                else ("optional" if transition.by == "reviewer" else ""),
                "danger": action in {WorkflowAction.RETURN, WorkflowAction.WITHDRAW},
            }
        )
    return buttons


def _timeline(obj, *, with_details: bool) -> list[dict]:
    entries = []
    for event in event_timeline(target=obj):
        entries.append(
            {
                "at": event.at,
                "action": event.summary
                if event.action == "transition" and event.summary
                else event.get_action_display(),
                "actor": (str(event.actor) if event.actor else event.actor_name or _("系统")) if with_details else "",
                "from_status": RecordStatus(event.from_status).label if event.from_status else "",
                "to_status": RecordStatus(event.to_status).label if event.to_status else "",
                "comment": event.comment if with_details else "",
                "fields": display.changed_field_labels(type(obj), event.changes) if event.action == "update" else [],
            }
        )
    return entries


def record_detail(request, kind, pk):
    obj = access.get_object_for(request.user, kind.model, pk)
    editable = access.may_edit(request.user, obj) if request.user.is_authenticated else False
    contacts = access.contact_fields_for(request.user, obj, editable=editable)
    meta = kind.model._meta
    contact_rows = [(meta.get_field("contact_name").verbose_name, obj.contact_name)] + [
        (meta.get_field(name).verbose_name, value) for name, value in contacts.items()
    ]
    actions = services.actions_for(request.user, obj) if request.user.is_authenticated else []
    context = {
        "kind": kind,
        "obj": obj,
        "title": getattr(obj, kind.title_field),
        "rows": display.detail_rows(obj),
        "contact_rows": contact_rows,
        "buttons": _action_buttons(actions),
        "can_edit": editable and obj.status in EDITABLE_STATES,
        "show_review_comment": editable and bool(obj.review_comment),
        "timeline": _timeline(obj, with_details=editable),
        "show_recommendations": obj.status == RecordStatus.PUBLISHED and kind.slug in RECOMMENDING_KINDS,
    }
    return render(request, "portal/detail.html", context)


def _suggestion_url(name: str, kind, pk: int | None) -> str:
    """``portal:<name>`` of the create form (no ``pk``) or of record ``pk``'s edit form (``portal:<name>_for``)."""
    if pk is None:
        return reverse(f"portal:{name}", args=[kind.slug])
    return reverse(f"portal:{name}_for", args=[kind.slug, pk])


def _suggestion_panel(kind, form, obj=None) -> dict | None:
    """Where the 智能推荐 panel goes on a record form (before the first field it fills) and what it calls.

    No access check here: the form is rendered only to whoever passed the create or edit rule, which is the rule of
    the suggestion views too (``selectors.may_suggest_fields``)."""
    spec = suggestions.SPECS.get(kind.slug)
    targets = [name for name in spec.targets if name in form.fields] if spec else []
    if not targets:
        return None
    return {
        "before": next(name for name in form.fields if name in targets),
        "url": _suggestion_url("suggest_fields", kind, obj.pk if obj else None),
    }


def _render_form(request, kind, form, obj=None):
    context = {"kind": kind, "form": form, "obj": obj, "suggestion_panel": _suggestion_panel(kind, form, obj)}
    return render(request, "portal/form.html", context)


@login_required
def record_create(request, kind):
    if not selectors.may_create_records(request.user):
        return forbidden(request, _("您还不属于任何单位，不能登记%(kind)s") % {"kind": _(kind.label)})
    form_class = forms.record_form_class(kind)
    if request.method != "POST":
        return _render_form(request, kind, form_class(user=request.user))
    form = form_class(request.POST, user=request.user)
    if form.is_valid():
        try:
            obj = services.record_create(
                model=kind.model,
                actor=request.user,
                fields=form.fields_for_service(changed_only=False),
                request=request,
            )
        except access.AccessDenied as exc:
            return forbidden(request, exc.message)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存为草稿。确认无误后请“提交审核”。"))
            return redirect("portal:detail", kind=kind.slug, pk=obj.pk)
    return _render_form(request, kind, form)


@login_required
def record_edit(request, kind, pk):
    obj = access.get_object_for(request.user, kind.model, pk)
    if not access.may_edit(request.user, obj):
        return forbidden(request)
    if obj.status not in EDITABLE_STATES:
        messages.error(request, ErrorCode.NOT_EDITABLE.label)
        return redirect("portal:detail", kind=kind.slug, pk=obj.pk)
    form_class = forms.record_form_class(kind)
    if request.method != "POST":
        return _render_form(request, kind, form_class(instance=obj, user=request.user), obj)
    form = form_class(request.POST, instance=obj, user=request.user)
    if form.is_valid():
        try:
            services.record_update(
                obj=obj, actor=request.user, fields=form.fields_for_service(changed_only=True), request=request
            )
        except access.AccessDenied as exc:
            return forbidden(request, exc.message)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("修改已保存。"))
            return redirect("portal:detail", kind=kind.slug, pk=obj.pk)
    return _render_form(request, kind, form, obj)


# ---------------------------------------------------------------- 智能推荐 on the record forms


def _suggestion_view(view):
    """What both 智能推荐 views check first: signed in, POST, a kind with suggestions (else 404), and the user's right
    to ask here (else 403); ``view`` gets the kind's ``SuggestionSpec``."""

    @login_required
    @require_POST
    @functools.wraps(view)
    def checked(request, kind, pk=None):
        spec = suggestions.SPECS.get(kind.slug)
        if spec is None:
            raise Http404(_("未找到该页面"))
        if not selectors.may_suggest_fields(request.user, kind=kind, pk=pk):
            return forbidden(request)
        return view(request, kind, spec, pk)

    return checked


@_suggestion_view
def suggest_fields(request, kind, spec, pk):
    """The 智能推荐 panel's content for the text typed so far (an htmx fragment; nothing is written)."""
    apply_url = _suggestion_url("apply_suggestion", kind, pk)
    context = {"kind": kind, "apply_url": apply_url, **suggestions.panel(spec, kind.model, request.POST)}
    return render(request, "portal/_field_suggestions.html", context)


@_suggestion_view
def apply_suggestion(request, kind, spec, pk):
    """The field a suggestion fills, re-rendered with the suggested value (the rest of the form as typed)."""
    target = request.POST.get("suggestion_target", "")
    try:
        data, note = suggestions.apply(
            spec, request.POST, target=target, value=request.POST.get("suggestion_value", "")
        )
    except suggestions.NotApplicable as exc:
        return HttpResponseBadRequest(exc.message)
    field = forms.record_field_form(kind, target, data)[target]
    response = render(request, "portal/_form_control.html", {"field": field, "note": note})
    # After the swap, so the panel re-reads the form with the new value and its row reads 已填入.
    response["HX-Trigger-After-Settle"] = "suggestion-applied"
    return response


@login_required
@require_POST
def record_action(request, kind, pk, action):
    obj = access.get_object_for(request.user, kind.model, pk)
    form = forms.ActionForm(request.POST)
    form.is_valid()
    try:
        services.record_transition(
            obj=obj,
            actor=request.user,
            action=action,
            comment=form.cleaned_data.get("comment", ""),
            request=request,
        )
    except access.AccessDenied as exc:
        return forbidden(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("操作成功：%(action)s") % {"action": WorkflowAction(action).label})
    return redirect("portal:detail", kind=kind.slug, pk=obj.pk)


# ---------------------------------------------------------------- workspace and audit log


@login_required
def workspace(request):
    actor = access.actor_of(request.user)
    roles = [Role(role).label for role in Role.values if role in actor.roles]
    memberships = request.user.memberships.select_related("organization").order_by("organization__name")
    return render(
        request,
        "portal/workspace.html",
        {
            "sections": selectors.workspace_sections(user=request.user),
            "roles": roles,
            "memberships": list(memberships),
            "may_create": selectors.may_create_records(request.user),
            "is_reviewer": actor.is_platform_admin or actor.is_region_admin,
            "can_read_audit_log": actor.can_read_audit_log,
            "kinds": list(KINDS.values()),
        },
    )


def _target_links() -> dict:
    links = {(k.model._meta.app_label, k.model._meta.model_name): ("portal:detail", k.slug) for k in KINDS.values()}
    links[("organizations", "organization")] = ("portal:organization_detail", None)
    return links


@login_required
def audit_log(request):
    if not access.actor_of(request.user).can_read_audit_log:
        raise Http404(_("未找到该页面"))
    form = forms.AuditFilterForm(request.GET)
    events = event_search(user=request.user, **form.query()).select_related("target_type")
    page = _page(request, events, AUDIT_PAGE_SIZE)
    links = _target_links()
    rows = []
    for event in page.object_list:
        url = ""
        model = None
        if event.target_type_id:
            ct = event.target_type
            model = ct.model_class()
            link = links.get((ct.app_label, ct.model))
            if link and event.target_id.isdigit():
                name, slug = link
                url = reverse(name, args=[slug, event.target_id] if slug else [event.target_id])
        rows.append(
            {
                "event": event,
                "url": url,
                "from_status": STATUS_LABELS.get(event.from_status, event.from_status),
                "to_status": STATUS_LABELS.get(event.to_status, event.to_status),
                "changes": display.change_lines(model, event.changes),
            }
        )
    return render(request, "portal/audit_log.html", {"form": form, "page": page, "rows": rows})


# ---------------------------------------------------------------- organizations


def organization_list(request):
    form = forms.OrganizationFilterForm(request.GET)
    page = _page(request, selectors.organization_list(user=request.user, **form.query()), PAGE_SIZE)
    return render(request, "portal/organization_list.html", {"form": form, "page": page})


def organization_detail(request, pk):
    organization = access.get_object_for(request.user, Organization, pk)
    manageable = (
        request.user.is_authenticated
        and Organization.objects.filter(pk=organization.pk).manageable_by(request.user).exists()
    )
    meta = Organization._meta
    contacts = access.contact_fields_for(request.user, organization, editable=manageable)
    contact_rows = [(meta.get_field("contact_name").verbose_name, organization.contact_name)] + [
        (meta.get_field(name).verbose_name, value) for name, value in contacts.items()
    ]
    return render(
        request,
        "portal/organization_detail.html",
        {
            "organization": organization,
            "contact_rows": contact_rows,
            "certifications": list(organization.certifications.all()),
            "facts": list(organization.facts.all()),
            "records": selectors.organization_records(user=request.user, organization=organization),
        },
    )
