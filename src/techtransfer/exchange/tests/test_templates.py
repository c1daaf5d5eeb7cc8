"""The downloadable import template: Chinese headers, required ones marked *, help and drop-down lists."""

import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from techtransfer.exchange.specs import SPECS

from .helpers import headers, read_xlsx

ACHIEVEMENT_HEADERS = [
    "成果名称*",
    "成果简介*",
    "关键词",
    "成果类型",
    "成熟阶段",
    "技术就绪度",
    "学科",
    "国民经济行业",
    "高新技术领域",
    "知识产权",
    "成果权属单位",
    "成果完成人",
    "转化方式",
    "意向价格（元）",
    "定价方式",
    "数据来源",
    "所属单位",
    "所属区域",
    "联系人",
    "联系电话",
    "联系邮箱",
]


@pytest.mark.django_db
def test_template_download_has_the_chinese_headers(client):
    response = client.get("/exchange/templates/achievements.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=utf-8''%E7%A7%91%E6%8A%80%E6%88%90%E6%9E%9C" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["科技成果", "填写说明", "选项"]
    assert workbook["选项"].sheet_state == "hidden"
    assert read_xlsx(response.content) == [ACHIEVEMENT_HEADERS]


@pytest.mark.django_db
def test_template_explains_allowed_values(client):
    content = client.get("/exchange/templates/achievements.xlsx").content
    help_rows = {row[0]: row[1:] for row in read_xlsx(content, "填写说明")[1:]}
    assert help_rows["成果类型"] == ["否", "从下拉列表选择：应用技术、基础理论、软科学", "应用技术、基础理论、软科学"]
    assert help_rows["成果名称*"] == ["是", "", ""]
    assert help_rows["技术就绪度"] == ["否", "1–9 的整数", ""]
    assert help_rows["所属区域"][2].startswith("淮北市、相山区")


@pytest.mark.django_db
def test_template_has_drop_down_lists_for_choice_columns(client):
    content = client.get("/exchange/templates/achievements.xlsx").content
    workbook = load_workbook(io.BytesIO(content))
    lists = {
        str(v.sqref): (v.formula1, v.showErrorMessage)
        for v in workbook["科技成果"].data_validations.dataValidation
        if v.type == "list"
    }
    assert lists["D2:D1001"] == ("'选项'!$A$2:$A$4", True)  # 成果类型, refuses anything else
    assert lists["M2:M1001"][1] is False  # 转化方式 is multi-choice: the list helps, typing more is allowed
    options = [row[0] for row in workbook["选项"].iter_rows(min_row=1, max_row=4, max_col=1, values_only=True)]
    assert options == ["成果类型", "应用技术", "基础理论", "软科学"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(SPECS))
def test_template_command_writes_the_same_headers(tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    call_command("template", kind, str(path))
    assert read_xlsx(path.read_bytes()) == [headers(kind)]


@pytest.mark.django_db
def test_unknown_kind_has_no_template(client):
    assert client.get("/exchange/templates/vouchers.xlsx").status_code == 404
