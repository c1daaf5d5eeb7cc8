"""Pages and downloads of the exchange app: parse the request, call one service or selector, answer."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError

from . import services
from .forms import ImportForm
from .selectors import filters_from_query, import_template
from .specs import SPECS, spec_for


def _download(file) -> HttpResponse:
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = content_disposition_header(True, file.name)
    return response


@require_GET
def template_download(request, kind: str):
    spec = spec_for(kind)
    if spec is None:
        raise Http404
    return _download(import_template(spec))


@require_GET
def export_download(request, kind: str):
    spec = spec_for(kind)
    if spec is None:
        raise Http404
    filters, q, ordering = filters_from_query(spec, request.GET)
    try:
        file = services.export_file(
            kind=kind,
            user=request.user,
            filters=filters,
            q=q,
            ordering=ordering,
            file_format=request.GET.get("format") or "xlsx",
            request=request,
        )
    except ServiceError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    return _download(file)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    report = None
    form = ImportForm(request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = services.import_file(
                kind=form.cleaned_data["kind"],
                user=request.user,
                file_name=upload.name,
                data=upload.read(),
                dry_run=form.cleaned_data["dry_run"],
                request=request,
            )
        except (ServiceError, AccessDenied) as exc:
            form.add_error("file", exc.message)
    status = 400 if form.errors else 200
    return render(
        request,
        "exchange/import.html",
        {"form": form, "report": report, "specs": list(SPECS.values())},
        status=status,
    )
