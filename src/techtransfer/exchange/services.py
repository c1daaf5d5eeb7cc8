"""Imports and exports: the writes of the exchange app.

An import checks the headers, parses every row, then creates every row through the kind's create service
(``core.services.record_create`` or ``organizations.services.organization_create``, so each row passes the
same access checks and validation as a form) inside one transaction. If any row has a problem, or this is
a dry run, the transaction is rolled back: a file with a bad row imports nothing. The report names the row
as Excel numbers it, the column header and the problem, in Chinese.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from techtransfer.audit.services import log_event
from techtransfer.core.access import AccessDenied, actor_of
from techtransfer.core.dbmaintenance import database_optimize
from techtransfer.core.errors import ErrorCode, ServiceError

from .columns import CellError, Lookups, plain_header, quoted
from .readers import read_table
from .selectors import export_queryset, export_rows
from .specs import SPECS, KindSpec
from .workbooks import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, SpreadsheetFile, csv_bytes, xlsx_bytes

EXPORT_FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class Problem:
    row: int | None  # as Excel numbers it; ``None`` for the header or the whole file
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row is not None:
            where = _("第 %(n)d 行") % {"n": self.row}
        else:
            where = _("表头") if self.column else _("文件")
        return f"{where} {quoted(self.column)}：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass
class ImportReport:
    kind: str
    label: str
    file_name: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]

    @property
    def summary(self) -> str:
        if not self.ok:
            return _("校验未通过：发现 %(n)d 处问题，未导入任何数据") % {"n": len(self.problems)}
        if self.dry_run:
            return _("校验通过，共 %(n)d 行") % {"n": self.rows}
        return _("导入成功，共 %(n)d 行") % {"n": self.created}

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(row, column, message))


def spec_or_refuse(kind: str) -> KindSpec:
    spec = SPECS.get(kind)
    if spec is None:
        raise ServiceError(
            ErrorCode.NOT_FOUND,
            _("不支持的数据类型%(k)s，可选：%(o)s") % {"k": quoted(kind), "o": "、".join(SPECS)},
        )
    return spec


def _match_headers(spec: KindSpec, headers: list[str], report: ImportReport) -> dict:
    """Column → position in the row; unknown, repeated and missing required headers go into the report."""
    by_header = {col.header: col for col in spec.columns}
    positions = {}
    for position, raw in enumerate(headers):
        if not raw:
            continue
        col = by_header.get(plain_header(raw))
        if col is None:
            report.add(None, raw, _("不认识的列名（请使用导入模板中的列名）"))
        elif col in positions:
            report.add(None, raw, _("列名重复"))
        else:
            positions[col] = position
    for col in spec.columns:
        if col.required and col not in positions:
            report.add(None, col.template_header, _("缺少必填列"))
    return positions


def _parse_rows(spec: KindSpec, table, positions: dict, report: ImportReport) -> list:
    """``[(row number, fields, texts)]`` for every row; cell problems go into the report."""
    lookups = Lookups()
    for col, position in positions.items():
        if col.lookup == "organization":
            lookups.load_organizations(texts[position] for _n, texts in table.rows if position < len(texts))
    parsed = []
    for number, texts in table.rows:
        fields = {}
        problems_before = len(report.problems)
        for col in spec.columns:
            if col not in positions:
                continue
            position = positions[col]
            text = texts[position] if position < len(texts) else ""
            if not text:
                if col.required:
                    report.add(number, col.header, _("必填，不能为空"))
                continue  # an empty cell leaves the model's default
            try:
                fields[col.field] = col.parse(text, lookups)
            except CellError as exc:
                report.add(number, col.header, exc.message)
        row_texts = tuple(texts[positions[col]] if positions[col] < len(texts) else "" for col in positions)
        parsed.append((number, fields, row_texts, len(report.problems) == problems_before))
    return parsed


def _check_duplicates(spec: KindSpec, parsed: list, report: ImportReport) -> set:
    """Rows repeating another row of the file, or a unique value already on the platform; returns their numbers."""
    bad = set()
    if spec.unique_fields:
        for name in spec.unique_fields:
            header = spec.header_for(name)
            first_seen: dict = {}
            for number, fields, _texts, _ok in parsed:
                value = fields.get(name)
                if value in (None, ""):
                    continue
                if value in first_seen:
                    report.add(
                        number, header, _("与第 %(n)d 行重复：%(v)s") % {"n": first_seen[value], "v": quoted(value)}
                    )
                    bad.add(number)
                else:
                    first_seen[value] = number
            existing = set(spec.model.objects.filter(**{f"{name}__in": list(first_seen)}).values_list(name, flat=True))
            for value in existing:
                report.add(
                    first_seen[value], header, _("平台已有%(k)s使用%(v)s") % {"k": spec.noun, "v": quoted(value)}
                )
                bad.add(first_seen[value])
    else:
        first_seen = {}
        for number, _fields, texts, _ok in parsed:
            if texts in first_seen:
                report.add(number, None, _("与第 %(n)d 行完全相同") % {"n": first_seen[texts]})
                bad.add(number)
            else:
                first_seen[texts] = number
    return bad


def _report_refusal(spec: KindSpec, number: int, fields: dict, exc: Exception, report: ImportReport) -> None:
    if isinstance(exc, AccessDenied):
        report.add(number, spec.header_for(spec.access_field), spec.access_message(fields))
    elif isinstance(exc, ServiceError) and exc.details:
        for name, messages in exc.details.items():
            header = None if name == "__all__" else spec.header_for(name)
            for message in messages:
                report.add(number, header, message)
    elif isinstance(exc, ServiceError):
        report.add(number, None, exc.message)
    else:
        report.add(number, None, _("与平台已有数据冲突，无法保存"))


def _log_import(*, user, report: ImportReport, request) -> None:
    summary = _("导入%(k)s：%(f)s，%(n)d 行") % {"k": report.label, "f": report.file_name, "n": report.rows}
    if report.dry_run:
        summary += _("（仅校验）")
    if not report.ok:
        summary += _("，校验未通过")
    log_event(
        actor=user,
        action="import",
        request=request,
        summary=summary,
        changes={
            "kind": report.kind,
            "file": report.file_name,
            "rows": report.rows,
            "dry_run": report.dry_run,
            "created": report.created,
            "problems": len(report.problems),
        },
    )


BULK_IMPORT_ROWS = 500


def import_file(*, kind: str, user, file_name: str, data: bytes, dry_run: bool = False, request=None) -> ImportReport:
    """Check every row of an .xlsx/.csv file and create them all, or nothing (also nothing on a dry run).

    Raises ``ServiceError`` for a file that is not a readable spreadsheet and ``AccessDenied`` for anonymous
    users; every problem inside the file is in the returned report. An ``import`` audit event records the
    kind, file name, row count and whether it was a dry run.
    """
    spec = spec_or_refuse(kind)
    if not actor_of(user).is_authenticated:
        raise AccessDenied(_("请先登录"))
    table = read_table(file_name, data, sheet_title=spec.label)
    report = ImportReport(kind=spec.slug, label=spec.label, file_name=file_name, dry_run=dry_run, rows=len(table.rows))
    positions = _match_headers(spec, table.headers, report)
    if report.ok and not table.rows:
        report.add(None, None, _("没有数据行（第 1 行是表头，数据从第 2 行开始）"))
    if not report.ok:
        _log_import(user=user, report=report, request=request)
        return report

    parsed = _parse_rows(spec, table, positions, report)
    duplicates = _check_duplicates(spec, parsed, report)
    created = 0
    with transaction.atomic():
        for number, fields, _texts, parsed_ok in parsed:
            if not parsed_ok or number in duplicates:
                continue
            try:
                with transaction.atomic():
                    spec.create(actor=user, fields=fields, request=request)
            except (AccessDenied, ServiceError, IntegrityError) as exc:
                _report_refusal(spec, number, fields, exc, report)
            else:
                created += 1
        order = {col.header: i for i, col in enumerate(spec.columns)}
        report.problems.sort(key=lambda p: (p.row or 0, order.get(p.column, len(order))))
        committed = report.ok and not dry_run
        if committed:
            report.created = created
            _log_import(user=user, report=report, request=request)
        else:
            transaction.set_rollback(True)
    if not committed:
        _log_import(user=user, report=report, request=request)
    elif created >= BULK_IMPORT_ROWS:
        # A large import can change the data's shape; refresh the planner's statistics.
        transaction.on_commit(database_optimize)
    return report


def export_file(
    *,
    kind: str,
    user,
    filters: dict | None = None,
    q: str = "",
    ordering: str = "",
    file_format: str = "xlsx",
    request=None,
) -> SpreadsheetFile:
    """The records of ``kind`` that ``user`` may see, filtered like the list pages, as .xlsx or .csv.

    Contacts are masked on rows ``user`` may not edit. The columns are the import template's, so the
    file re-imports. An ``export`` audit event records the kind, filters and row count.
    """
    spec = spec_or_refuse(kind)
    if file_format not in EXPORT_FORMATS:
        raise ServiceError(ErrorCode.INVALID, _("导出格式只能是 xlsx 或 csv"))
    try:
        queryset = export_queryset(spec, user=user, filters=filters, q=q, ordering=ordering)
        rows = list(export_rows(spec, queryset, user=user))
    except (ValueError, ValidationError) as exc:
        raise ServiceError(ErrorCode.INVALID, _("筛选条件不正确，请检查数字和日期的写法")) from exc
    if file_format == "csv":
        content, content_type = csv_bytes(spec, rows), CSV_CONTENT_TYPE
    else:
        content, content_type = xlsx_bytes(spec, rows), XLSX_CONTENT_TYPE
    log_event(
        actor=user,
        action="export",
        request=request,
        summary=_("导出%(k)s %(n)d 行") % {"k": spec.label, "n": len(rows)},
        changes={
            "kind": spec.slug,
            "filters": filters or {},
            "q": q,
            "ordering": ordering,
            "format": file_format,
            "rows": len(rows),
        },
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return SpreadsheetFile(
        name=f"{spec.label}-{stamp}.{file_format}", content_type=content_type, content=content, rows=len(rows)
    )
