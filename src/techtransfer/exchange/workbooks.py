"""Write the import template and the export files (.xlsx through openpyxl, .csv in UTF-8 with BOM for Excel)."""

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from .readers import FORMULA_PREFIXES

TEMPLATE_ROWS = 1000  # drop-down lists and prompts cover rows 2 … 1001
HELP_SHEET = "填写说明"
OPTIONS_SHEET = "选项"
HEADER_FONT = Font(bold=True)
REQUIRED_FONT = Font(bold=True, color="C00000")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _width(header: str) -> float:
    return max(12, min(40, len(header) * 2 + 4))


def template_workbook(spec, *, region_names: tuple = ()) -> bytes:
    """A data sheet with the headers (required ones marked *), a help sheet, and drop-down lists."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = spec.label
    help_sheet = workbook.create_sheet(HELP_SHEET)
    options_sheet = workbook.create_sheet(OPTIONS_SHEET)
    options_sheet.sheet_state = "hidden"

    help_sheet.append(["列名", "是否必填", "填写说明", "可选值"])
    for cell in help_sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for letter, width in zip("ABCD", (22, 10, 60, 60), strict=True):
        help_sheet.column_dimensions[letter].width = width

    last_row = TEMPLATE_ROWS + 1
    option_column = 0
    for index, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=col.template_header)
        cell.font = REQUIRED_FONT if col.required else HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        dimension = sheet.column_dimensions[letter]
        dimension.width = _width(col.template_header)
        dimension.number_format = "@"  # text: Excel keeps phone numbers, codes and patent numbers as typed

        options = col.options or (tuple(region_names) if col.lookup == "region" else ())
        help_sheet.append([col.template_header, "是" if col.required else "否", col.help, "、".join(options)])
        for help_cell in help_sheet[help_sheet.max_row]:
            help_cell.alignment = Alignment(wrap_text=True, vertical="top")

        if options:
            option_column += 1
            option_letter = get_column_letter(option_column)
            options_sheet.cell(row=1, column=option_column, value=col.header)
            for row, option in enumerate(options, start=2):
                options_sheet.cell(row=row, column=option_column, value=option)
            reference = f"{quote_sheetname(OPTIONS_SHEET)}!${option_letter}$2:${option_letter}${len(options) + 1}"
            validation = DataValidation(
                type="list",
                formula1=reference,
                allow_blank=True,
                showErrorMessage=col.strict_options,
                errorTitle=col.header,
                error=f"请从下拉列表中选择{col.header}",
            )
        else:
            validation = DataValidation(allow_blank=True)
        if col.help:
            validation.showInputMessage = True
            validation.promptTitle = col.header[:32]
            validation.prompt = col.help[:255]
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    return _save(workbook)


def _save(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(spec, rows) -> bytes:
    """The export as a workbook: the template's headers, then one row of text per record."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(spec.label)
    for index, col in enumerate(spec.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(col.template_header)
    sheet.freeze_panes = "A2"
    header = []
    for col in spec.columns:
        cell = WriteOnlyCell(sheet, value=col.template_header)
        cell.font = REQUIRED_FONT if col.required else HEADER_FONT
        cell.fill = HEADER_FILL
        header.append(cell)
    sheet.append(header)
    for texts in rows:
        cells = []
        for text in texts:
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
    return _save(workbook)


def _csv_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_bytes(spec, rows) -> bytes:
    """The export as CSV in UTF-8 with BOM, which Excel opens correctly; formula-like text is quoted with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([col.template_header for col in spec.columns])
    for texts in rows:
        writer.writerow([_csv_safe(text) for text in texts])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class SpreadsheetFile:
    """A file to hand to a browser or write to disk."""

    name: str
    content_type: str
    content: bytes
    rows: int = 0
