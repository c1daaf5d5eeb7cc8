"""Reads for exports: the records a user may see, as rows of cell text with contacts masked where they must be."""

from techtransfer.core.access import contact_fields_for
from techtransfer.core.selectors import record_list

from .workbooks import XLSX_CONTENT_TYPE, SpreadsheetFile, template_workbook

CHUNK = 500


def organization_export_list(*, user, filters: dict | None = None, q: str = ""):
    """The organizations ``user`` may see, filtered and searched as on the organization list page."""
    from techtransfer.portal.selectors import organization_list

    filters = filters or {}
    queryset = organization_list(user=user, q=q, kind=filters.get("kind", ""), region=filters.get("region", ""))
    return queryset.select_related("region", "division")


def export_queryset(spec, *, user, filters: dict | None = None, q: str = "", ordering: str = ""):
    """What an export of ``spec`` lists for ``user``: the same list, filters and search as the list pages."""
    if spec.registry is not None:
        return record_list(kind=spec.registry, user=user, filters=filters or {}, q=q, ordering=ordering)
    return organization_export_list(user=user, filters=filters, q=q)


def _editable_ids(spec, user, ids: list) -> set:
    """Which of ``ids`` ``user`` may edit (and so see unmasked contacts of): one query per chunk."""
    manager = spec.model.objects.filter(pk__in=ids)
    allowed = manager.editable_by(user) if spec.registry is not None else manager.manageable_by(user)
    return set(allowed.values_list("pk", flat=True))


def export_rows(spec, queryset, *, user):
    """Yield one list of cell texts per object, in the spec's column order."""
    chunk: list = []

    def flush():
        editable = _editable_ids(spec, user, [obj.pk for obj in chunk]) if chunk else set()
        for obj in chunk:
            contacts = contact_fields_for(user, obj, editable=obj.pk in editable)
            texts = []
            for col in spec.columns:
                value = contacts[col.field] if col.field in contacts else getattr(obj, col.field)
                texts.append(col.format(value))
            yield texts

    for obj in queryset.iterator(chunk_size=CHUNK):
        chunk.append(obj)
        if len(chunk) == CHUNK:
            yield from flush()
            chunk = []
    yield from flush()


def region_names() -> tuple:
    """The region tree's names in tree order (each node's children by ``sort_order``), for the drop-down list."""
    from techtransfer.portal.selectors import region_tree

    return tuple(region.name for region, _depth in region_tree())


def filters_from_query(spec, params) -> tuple[dict, str, str]:
    """``(filters, q, ordering)`` from a list page's query string (a ``QueryDict`` or a plain dict)."""
    allowed = spec.registry.filters if spec.registry is not None else spec.filters
    filters = {key: params.get(key) for key in allowed if params.get(key) not in (None, "")}
    return filters, (params.get("q") or "").strip(), (params.get("ordering") or "").strip()


def import_template(spec) -> SpreadsheetFile:
    """The empty workbook people fill in for ``spec``: headers, a help sheet and drop-down lists."""
    content = template_workbook(spec, region_names=region_names())
    return SpreadsheetFile(name=f"{spec.label}导入模板.xlsx", content_type=XLSX_CONTENT_TYPE, content=content)
