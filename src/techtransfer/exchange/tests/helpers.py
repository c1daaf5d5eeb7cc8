"""Build and read spreadsheets in tests."""

import csv
import io

from openpyxl import Workbook, load_workbook

from techtransfer.exchange.specs import SPECS


def headers(kind: str) -> list[str]:
    return [col.template_header for col in SPECS[kind].columns]


def row_for(kind: str, **cells) -> list:
    """A row in the template's column order; ``cells`` are keyed by header without the *."""
    names = [col.header for col in SPECS[kind].columns]
    unknown = set(cells) - set(names)
    assert not unknown, unknown
    return [cells.get(name, "") for name in names]


def xlsx(rows: list[list], *, title: str = "数据") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(rows: list[list], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def read_xlsx(content: bytes, sheet: int | str = 0) -> list[list]:
    workbook = load_workbook(io.BytesIO(content))
    worksheet = workbook.worksheets[sheet] if isinstance(sheet, int) else workbook[sheet]
    return [["" if v is None else v for v in row] for row in worksheet.iter_rows(values_only=True)]


def read_csv(content: bytes) -> list[list]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
