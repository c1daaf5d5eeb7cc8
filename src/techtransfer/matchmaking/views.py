"""Pages of 精准对接: the search page, the "为您推荐" block (loaded by htmx on detail pages), the funnel.

Each view parses its input, calls one selector or service, and renders. A refused read is a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from techtransfer.core.access import AccessDenied, get_object_for
from techtransfer.core.errors import ServiceError
from techtransfer.core.registry import KINDS
from techtransfer.portal.views import forbidden

from . import access, forms, selectors, services
from .choices import NEXT_STAGES, MatchStage
from .models import Match

RESULTS_PER_KIND = 5
GROUP_LABELS = {selectors.ENTERPRISES: gettext_lazy("可能需要该成果的企业")}


def search(request):
    form = forms.SearchForm(request.GET)
    form.is_valid()
    q = form.cleaned_data.get("q", "")
    kind = form.cleaned_data.get("kind", "")
    results = selectors.search(q=q, user=request.user, kinds=[kind] if kind else None) if q else []
    return render(request, "matchmaking/search.html", {"form": form, "q": q, "results": results})


def recommend(request, kind, pk):
    """The "为您推荐" block of a demand or achievement: an HTML fragment that the detail page loads with htmx.

    Always a fragment (never a whole page under the same URL), so the anonymous page cache, keyed by path,
    cannot serve one for the other."""
    if kind not in selectors.TARGETS:
        raise Http404(_("未找到该对象"))
    obj = get_object_for(request.user, KINDS[kind].model, pk)
    groups = selectors.recommendations_for(obj=obj, user=request.user, k=RESULTS_PER_KIND)
    return render(
        request,
        "matchmaking/_recommend.html",
        {
            "obj": obj,
            "kind": KINDS[kind],
            "groups": [(slug, GROUP_LABELS.get(slug) or KINDS[slug].label, found) for slug, found in groups.items()],
            "may_record": kind == "demands" and access.can_record_matches(request.user),
            # The demand's matches, for whoever may see them (its enterprise follows them here).
            "matches": selectors.match_list(user=request.user, demand=obj)[:20] if kind == "demands" else (),
        },
    )


@login_required
def funnel(request):
    if not access.can_read_funnel(request.user):
        return forbidden(request)
    stage = request.GET.get("stage", "")
    if stage not in MatchStage.values:
        stage = ""
    return render(
        request,
        "matchmaking/funnel.html",
        {
            "stats": selectors.funnel_stats(user=request.user),
            "matches": selectors.match_list(user=request.user, stage=stage)[:100],
            "stage": stage,
            "stages": MatchStage.choices,
        },
    )


@login_required
def match_detail(request, pk):
    match = get_object_for(request.user, Match.objects.select_related(*selectors.MATCH_RELATED), pk)
    drivable = access.may_drive(request.user, match)
    next_stages = [(s, MatchStage(s).label) for s in NEXT_STAGES[MatchStage(match.stage)]] if drivable else []
    return render(
        request,
        "matchmaking/match_detail.html",
        {
            "match": match,
            "events": selectors.match_events(match),
            "next_stages": next_stages,
            "form": forms.MatchAdvanceForm(),
        },
    )


@login_required
@require_POST
def match_create(request):
    form = forms.MatchCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("登记对接的参数不正确"))
        return redirect("matchmaking:funnel")
    data = form.cleaned_data
    try:
        # The service reads both records under the user's access (a 404 if hidden); pass references only.
        match = services.match_create(
            actor=request.user,
            demand=KINDS["demands"].model(pk=data["demand"]),
            counterpart=KINDS[data["kind"]].model(pk=data["counterpart"]),
            notes=data.get("notes") or "",
            score=data.get("score"),
            request=request,
        )
    except AccessDenied as exc:
        return forbidden(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("portal:detail", "demands", data["demand"])
    messages.success(request, _("已登记对接：%(m)s") % {"m": match})
    return redirect("matchmaking:match", match.pk)


@login_required
@require_POST
def match_advance(request, pk, stage):
    form = forms.MatchAdvanceForm(request.POST)
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    try:
        # The service locks the match under the user's access (a 404 if hidden).
        services.match_advance(actor=request.user, match=Match(pk=pk), to_stage=stage, note=note, request=request)
    except AccessDenied as exc:
        return forbidden(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("对接阶段已更新为“%(s)s”") % {"s": MatchStage(stage).label})
    return redirect("matchmaking:match", pk)
