"""Read an uploaded .xlsx or .csv file into a header and rows of cell text, numbered as Excel shows them.

CSV may be UTF-8, UTF-8 with BOM, GBK/GB 18030 (what Excel in China saves) or UTF-16 (Excel's "Unicode text").
"""

import codecs
import csv
import datetime
import decimal
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.utils.translation import gettext as _

from techtransfer.core.errors import ErrorCode, ServiceError

MAX_ROWS = 5000
FORMULA_PREFIXES = ("=", "+", "-", "@")


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as Excel shows it, cell texts), empty rows left out


def refuse(message: str):
    raise ServiceError(ErrorCode.INVALID, message)


def cell_text(value) -> str:
    """The text a person sees in a cell: numbers without a trailing ``.0``, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(decimal.Decimal(repr(value)), "f")
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").strip()
    # Our CSV export writes '=… for text that Excel would otherwise run as a formula.
    if text.startswith("'") and text[1:2] in FORMULA_PREFIXES:
        text = text[1:]
    return text


def _table(raw_rows) -> Table:
    headers: list[str] | None = None
    rows = []
    for number, raw in enumerate(raw_rows, start=1):
        texts = [cell_text(v) for v in raw]
        if headers is None:
            headers = texts
            continue
        if not any(texts):
            continue
        rows.append((number, texts))
        if len(rows) > MAX_ROWS:
            refuse(_("一个文件最多导入 %(n)d 行，请拆分后再导入") % {"n": MAX_ROWS})
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        refuse(_("文件第 1 行应为表头，但它是空的；请使用导入模板"))
    return Table(headers=headers, rows=rows)


def _read_xlsx(data: bytes, sheet_title: str = "") -> Table:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        refuse(_("文件不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入"))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        refuse(_("文件不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入"))
    try:
        sheet = workbook[sheet_title] if sheet_title in workbook.sheetnames else workbook.worksheets[0]
        return _table(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        refuse(_("文件不是文本格式的 CSV 文件"))
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]  # GB 18030 is a superset of GBK and GB 2312
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    refuse(_("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码的 CSV"))


def _read_csv(data: bytes) -> Table:
    content = _decode(data)
    first_line = content.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        return _table(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    except csv.Error:
        refuse(_("CSV 文件格式不正确（引号不配对或含有不可见字符）"))


def read_table(file_name: str, data: bytes, *, sheet_title: str = "") -> Table:
    """The header and non-empty rows of an .xlsx or .csv file; ``ServiceError`` with a Chinese message otherwise."""
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(data, sheet_title)
    if suffix == ".csv":
        return _read_csv(data)
    if suffix in {".xls", ".et"}:
        refuse(_("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入"))
    refuse(
        _("只能导入 Excel（.xlsx）或 CSV（.csv）文件，“%(f)s”不是这两种格式")
        % {"f": PurePath(file_name or "").name or _("该文件")}
    )
