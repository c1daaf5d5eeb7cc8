"""Pages of 精准对接: the search page, the "为您推荐" block (loaded by htmx on detail pages), the funnel.

Each view parses its input, calls one selector or service, and renders. A refused read is a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from techtransfer.core.access import AccessDenied, get_object_for
from techtransfer.core.errors import ServiceError
from techtransfer.core.pagecache import skip_page_cache
from techtransfer.core.registry import KINDS
from techtransfer.portal.views import forbidden

from . import access, forms, selectors, services
from .choices import NEXT_STAGES, MatchStage
from .models import Match

RESULTS_PER_KIND = 5
GROUP_LABELS = {selectors.ENTERPRISES: gettext_lazy("可能需要该成果的企业")}


def _search(request, *, semantic: str):
    """Parse the search form; run the search when it is valid (an invalid filter shows its error, finds nothing)."""
    form = forms.SearchForm(request.GET)
    if not form.is_valid():
        return form, "", selectors.SearchOutcome([])
    q = form.cleaned_data["q"]
    kind = form.cleaned_data["kind"]
    if not q:
        return form, q, selectors.SearchOutcome([])
    outcome = selectors.search_outcome(
        q=q, user=request.user, kinds=[kind] if kind else None, filters=form.filters(), semantic=semantic
    )
    return form, q, outcome


def search(request):
    """The search page: at once, the results that need no model call (hybrid when the query's vector is cached,
    else lexical); when embedding the query would make them hybrid, the results ask for ``search_refine`` on load.
    """
    form, q, outcome = _search(request, semantic="cached")
    refine_url = ""
    if outcome.pending:
        refine_url = f"{reverse('matchmaking:search_refine')}?{request.GET.urlencode()}"
        # Not cached for the next visitor: by then this process has the query's vector and answers hybrid at once.
        skip_page_cache(request)
    context = {"form": form, "q": q, "results": outcome.results, "mode": outcome.mode, "refine_url": refine_url}
    return render(request, "matchmaking/search.html", context)


def search_refine(request):
    """The search page's results, hybrid (the query embedded if need be): an HTML fragment swapped in by htmx.

    Always a fragment, access-checked like the page (the same selector): a separate URL, so the page cache keyed
    by path never serves it for the page."""
    _form, q, outcome = _search(request, semantic="embed")
    context = {"q": q, "results": outcome.results, "mode": outcome.mode, "refine_url": ""}
    return render(request, "matchmaking/_search_results.html", context)


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
