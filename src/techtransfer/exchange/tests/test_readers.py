"""Reading cells as people see them, whatever Excel or WPS saved."""

import codecs
import datetime
import io

import pytest
from openpyxl import Workbook

from techtransfer.core.errors import ServiceError
from techtransfer.exchange.readers import cell_text, read_table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (6, "6"),
        (6.0, "6"),
        (1200000.5, "1200000.5"),
        (13912345678, "13912345678"),
        (True, "是"),
        (datetime.datetime(2026, 6, 30), "2026-06-30"),
        (datetime.date(2026, 6, 30), "2026-06-30"),
        ("  陶铝\u3000", "陶铝"),
        ("'=SUM(A1)", "=SUM(A1)"),
        ("'单引号开头", "'单引号开头"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_utf16_tab_separated_csv_and_row_numbers():
    content = codecs.BOM_UTF16_LE + "名称\t类型\r\n甲\t企业\r\n\t\r\n乙\t高校\r\n".encode("utf-16-le")
    table = read_table("单位.csv", content)
    assert table.headers == ["名称", "类型"]
    assert table.rows == [(2, ["甲", "企业"]), (4, ["乙", "高校"])]


def test_xlsx_reads_the_sheet_named_like_the_kind_else_the_first():
    workbook = Workbook()
    workbook.active.title = "填写说明"
    workbook.active.append(["说明"])
    workbook.create_sheet("科技成果").append(["成果名称*"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_table("成果.xlsx", buffer.getvalue(), sheet_title="科技成果").headers == ["成果名称*"]
    assert read_table("成果.xlsx", buffer.getvalue(), sheet_title="技术需求").headers == ["说明"]


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr("techtransfer.exchange.readers.MAX_ROWS", 2)
    with pytest.raises(ServiceError) as exc:
        read_table("a.csv", "名称\n甲\n乙\n丙\n".encode())
    assert exc.value.message == "一个文件最多导入 2 行，请拆分后再导入"


def test_empty_first_row_is_refused():
    with pytest.raises(ServiceError) as exc:
        read_table("a.csv", "\n甲\n".encode())
    assert exc.value.message == "文件第 1 行应为表头，但它是空的；请使用导入模板"
