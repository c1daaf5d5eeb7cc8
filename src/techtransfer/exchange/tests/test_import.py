"""Importing spreadsheets: every row is checked, and a file with any bad row imports nothing."""

from decimal import Decimal

import pytest

from techtransfer.achievements.models import Achievement
from techtransfer.audit.models import Event
from techtransfer.core.errors import ServiceError
from techtransfer.demands.models import Demand
from techtransfer.exchange.services import import_file
from techtransfer.experts.models import Expert
from techtransfer.instruments.models import Instrument
from techtransfer.organizations.models import Organization

from .helpers import csv_file, headers, row_for, xlsx

ACME = "淮北示例陶铝科技有限公司"
RIVAL = "濉溪示例锂电有限公司"


def achievement_row(title: str, **cells) -> list:
    values = {
        "成果名称": title,
        "成果简介": "一种陶瓷颗粒增强铝基复合材料的原位制备方法。",
        "关键词": "陶铝、复合材料",
        "成果类型": "应用技术",
        "成熟阶段": "初期",
        "技术就绪度": 6,
        "国民经济行业": "3841",
        "高新技术领域": "新材料",
        "知识产权": "发明专利:ZL202310123456.6;实用新型专利:ZL202320456789.6",
        "成果权属单位": f"{ACME}、淮北师范大学",
        "成果完成人": "张三、李四",
        "转化方式": "转让，许可",
        "意向价格（元）": 1200000,
        "定价方式": "协议定价",
        "所属单位": ACME,
        "联系人": "王工",
        "联系电话": 13912345678,
        "联系邮箱": "wang@example.com",
    }
    values.update(cells)
    return row_for("achievements", **values)


def run(kind, user, content, *, name="导入.xlsx", dry_run=False):
    return import_file(kind=kind, user=user, file_name=name, data=content, dry_run=dry_run)


def import_events():
    return list(Event.objects.filter(action="import").order_by("id").values_list("changes", flat=True))


@pytest.mark.django_db
def test_good_xlsx_of_three_achievements_imports_exactly_three(people):
    # Given a template-shaped workbook with three achievements and two empty trailing rows
    rows = [
        headers("achievements"),
        achievement_row("陶铝新材料制备技术"),
        achievement_row(
            "特种机器人视觉导航", 技术就绪度=4, 知识产权="", 转化方式="合作开发", 定价方式="", **{"意向价格（元）": ""}
        ),
        achievement_row("锂电池正极材料回收", 成熟阶段="成熟", 所属区域="淮北高新技术产业开发区"),
        [None] * 5,
        [],
    ]
    # When a member of the organization imports it
    report = run("achievements", people.acme_member, xlsx(rows), name="成果.xlsx")
    # Then exactly three drafts exist, with every column in its field
    assert (report.ok, report.summary, report.lines) == (True, "导入成功，共 3 行", [])
    assert Achievement.objects.count() == 3
    first = Achievement.objects.get(title="陶铝新材料制备技术")
    assert first.abstract == "一种陶瓷颗粒增强铝基复合材料的原位制备方法。"
    assert first.keywords == ["陶铝", "复合材料"]
    assert (first.kind, first.stage, first.readiness_level) == ("applied", "early", 6)
    assert (first.industry_id, first.high_tech_field) == ("3841", "new_materials")
    assert first.ip_items == [
        {"kind": "invention", "number": "ZL202310123456.6"},
        {"kind": "utility_model", "number": "ZL202320456789.6"},
    ]
    assert first.owners == [ACME, "淮北师范大学"]
    assert first.completers == ["张三", "李四"]
    assert first.multi("transfer_modes") == ["transfer", "license"]
    assert first.asking_price == Decimal("1200000")
    assert first.pricing_method == "agreement"
    assert (first.organization, first.region.code) == (people.acme, "340603")
    assert (first.contact_name, first.contact_phone, first.contact_email) == ("王工", "13912345678", "wang@example.com")
    assert (first.status, first.created_by) == ("draft", people.acme_member)
    second = Achievement.objects.get(title="特种机器人视觉导航")
    assert (second.readiness_level, second.ip_items, second.transfer_modes) == (4, [], ",co_development,")
    assert (second.asking_price, second.pricing_method) == (None, "")
    third = Achievement.objects.get(title="锂电池正极材料回收")
    assert (third.stage, third.region.code) == ("mature", "340600-P01")
    # And each row has its create event, the file its import event
    assert Event.objects.filter(action="create", actor=people.acme_member).count() == 3
    assert import_events() == [
        {"kind": "achievements", "file": "成果.xlsx", "rows": 3, "dry_run": False, "created": 3, "problems": 0}
    ]


@pytest.mark.django_db
def test_one_bad_row_writes_nothing_and_names_row_and_column(people):
    # Given three rows, the second of which (Excel row 3) has readiness 12
    rows = [
        headers("achievements"),
        achievement_row("甲"),
        achievement_row("乙", 技术就绪度=12),
        achievement_row("丙"),
    ]
    # When it is imported
    report = run("achievements", people.acme_member, xlsx(rows))
    # Then nothing is written and the report names row 3 and the column
    assert report.lines == ["第 3 行 “技术就绪度”：应为 1–9 的整数，实际为“12”"]
    assert report.summary == "校验未通过：发现 1 处问题，未导入任何数据"
    assert Achievement.objects.count() == 0
    assert Event.objects.filter(action="create").count() == 0
    assert import_events() == [
        {"kind": "achievements", "file": "导入.xlsx", "rows": 3, "dry_run": False, "created": 0, "problems": 1}
    ]


@pytest.mark.django_db
def test_every_problem_of_every_row_is_reported_in_chinese(people):
    rows = [
        headers("achievements"),
        achievement_row("", 成果类型="应用"),
        achievement_row("乙", 国民经济行业="9999", 转化方式="转让、赠送", **{"意向价格（元）": "面议"}),
        achievement_row("丙", 知识产权="发明专利:ZL202310123456.7", 联系邮箱="not-an-email"),
        achievement_row("丁", 所属单位="不存在的公司", 所属区域="火星"),
    ]
    report = run("achievements", people.scout, xlsx(rows))
    assert report.lines == [
        "第 2 行 “成果名称”：必填，不能为空",
        "第 2 行 “成果类型”：应为以下之一：应用技术、基础理论、软科学，实际为“应用”",
        "第 3 行 “国民经济行业”：不是 GB/T 4754-2017 国民经济行业代码：“9999”",
        "第 3 行 “转化方式”：不认识的选项“赠送”，可选：转让、许可、作价投资、合作开发",
        "第 3 行 “意向价格（元）”：应为不小于 0 的金额（元），实际为“面议”",
        "第 4 行 “知识产权”：专利号校验位错误：ZL202310123456.7（校验位应为 6）",
        "第 4 行 “联系邮箱”：输入一个有效的 Email 地址。",
        "第 5 行 “所属单位”：平台上没有名为“不存在的公司”的单位（须与登记的单位全称完全一致）",
        "第 5 行 “所属区域”：区域树中没有“火星”（可填区域代码或名称）",
    ]
    assert Achievement.objects.count() == 0


@pytest.mark.django_db
def test_dry_run_writes_nothing_but_reports_success(people):
    rows = [headers("achievements"), *(achievement_row(f"成果{i}") for i in range(3))]
    report = run("achievements", people.acme_member, xlsx(rows), dry_run=True)
    assert (report.ok, report.summary) == (True, "校验通过，共 3 行")
    assert Achievement.objects.count() == 0
    assert Event.objects.filter(action="create").count() == 0
    assert import_events() == [
        {"kind": "achievements", "file": "导入.xlsx", "rows": 3, "dry_run": True, "created": 0, "problems": 0}
    ]


@pytest.mark.django_db
def test_dry_run_also_finds_problems_only_the_database_sees(people):
    rows = [headers("achievements"), achievement_row("甲", 所属单位=RIVAL)]
    report = run("achievements", people.acme_member, xlsx(rows), dry_run=True)
    assert report.lines == ["第 2 行 “所属单位”：无权为“濉溪示例锂电有限公司”导入数据"]


@pytest.mark.django_db
def test_member_cannot_import_rows_for_another_organization(people):
    # Given a file whose second row belongs to the rival enterprise
    rows = [headers("achievements"), achievement_row("甲"), achievement_row("乙", 所属单位=RIVAL)]
    # When acme's member imports it
    report = run("achievements", people.acme_member, xlsx(rows))
    # Then that row is refused and nothing is written
    assert report.lines == ["第 3 行 “所属单位”：无权为“濉溪示例锂电有限公司”导入数据"]
    assert Achievement.objects.count() == 0


@pytest.mark.django_db
def test_member_must_name_their_organization_but_a_scout_need_not(people):
    rows = [headers("achievements"), achievement_row("甲", 所属单位="")]
    report = run("achievements", people.acme_member, xlsx(rows))
    assert report.lines == ["第 2 行 “所属单位”：请填写本单位的全称（只有科技情报员和平台管理员可以不填）"]
    assert run("achievements", people.scout, xlsx(rows)).summary == "导入成功，共 1 行"
    assert Achievement.objects.get().organization is None


@pytest.mark.django_db
def test_scout_imports_for_any_organization(people):
    rows = [headers("achievements"), achievement_row("甲"), achievement_row("乙", 所属单位=RIVAL)]
    assert run("achievements", people.scout, xlsx(rows)).summary == "导入成功，共 2 行"
    assert sorted(Achievement.objects.values_list("organization__name", "region__code")) == [
        (ACME, "340603"),
        (RIVAL, "340621"),
    ]


@pytest.mark.django_db
def test_identical_rows_in_a_file_are_reported(people):
    rows = [headers("achievements"), achievement_row("甲"), achievement_row("乙"), achievement_row("甲")]
    report = run("achievements", people.acme_member, xlsx(rows))
    assert report.lines == ["第 4 行：与第 2 行完全相同"]
    assert Achievement.objects.count() == 0


def demand_rows():
    return [
        headers("demands"),
        row_for(
            "demands",
            需求名称="磷酸铁锂正极材料压实密度提升",
            需求描述="需要将压实密度提高到 2.6 克每立方厘米以上。",
            技术领域="新能源与节能、新材料",
            国民经济行业="3841",
            **{"预算（元）": "500,000.50"},
            截止日期="2026-06-30",
            合作方式="合作开发",
            卡脖子技术="是",
            所属单位=ACME,
            联系电话="0561-3012345",
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_and_utf8_imports(people, encoding):
    content = csv_file(demand_rows(), encoding=encoding)
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
    report = run("demands", people.acme_member, content, name="需求.csv")
    assert (report.ok, report.summary) == (True, "导入成功，共 1 行")
    demand = Demand.objects.get()
    assert demand.title == "磷酸铁锂正极材料压实密度提升"
    assert demand.description == "需要将压实密度提高到 2.6 克每立方厘米以上。"
    assert demand.multi("fields") == ["new_energy", "new_materials"]
    assert demand.budget == Decimal("500000.50")
    assert demand.deadline.isoformat() == "2026-06-30"
    assert (demand.cooperation_modes, demand.is_bottleneck) == (",co_development,", True)
    assert (demand.organization, demand.contact_phone) == (people.acme, "0561-3012345")


@pytest.mark.django_db
def test_bad_date_and_yes_no_in_csv(people):
    rows = demand_rows()
    rows[1][5] = "2026年6月30日"
    rows[1][7] = "也许"
    report = run("demands", people.acme_member, csv_file(rows), name="需求.csv")
    assert report.lines == [
        "第 2 行 “截止日期”：应为 YYYY-MM-DD 格式的日期，实际为“2026年6月30日”",
        "第 2 行 “卡脖子技术”：应为“是”或“否”，实际为“也许”",
    ]


@pytest.mark.django_db
def test_unknown_and_missing_headers_are_reported_before_rows(people):
    names = [h for h in headers("achievements") if h != "成果简介*"] + ["备注"]
    rows = [names, ["甲", "", "应用", 12]]
    report = run("achievements", people.acme_member, xlsx(rows))
    assert report.lines == [
        "表头 “备注”：不认识的列名（请使用导入模板中的列名）",
        "表头 “成果简介*”：缺少必填列",
    ]
    assert Achievement.objects.count() == 0


@pytest.mark.django_db
def test_headers_may_leave_out_optional_columns_and_the_required_mark(people):
    rows = [["仪器名称", "仪器类别", "所属单位", "对外共享"], ["场发射扫描电子显微镜", "分析仪器", ACME, "否"]]
    report = run("instruments", people.acme_admin, xlsx(rows))
    assert report.summary == "导入成功，共 1 行"
    instrument = Instrument.objects.get()
    assert (instrument.name, instrument.category, instrument.is_shared) == ("场发射扫描电子显微镜", "analytical", False)


@pytest.mark.django_db
def test_header_only_file_is_reported(people):
    report = run("experts", people.acme_member, xlsx([headers("experts")]))
    assert report.lines == ["文件：没有数据行（第 1 行是表头，数据从第 2 行开始）"]


@pytest.mark.django_db
def test_experts_import_with_defaults(people):
    rows = [headers("experts"), row_for("experts", 姓名="李教授", 研究方向与专长="特种机器人控制", 所属单位=ACME)]
    assert run("experts", people.acme_member, xlsx(rows)).summary == "导入成功，共 1 行"
    expert = Expert.objects.get()
    assert (expert.name, expert.expertise, expert.can_review, expert.fields) == ("李教授", "特种机器人控制", True, "")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("说明.pdf", b"%PDF-1.4 ...", "只能导入 Excel（.xlsx）或 CSV（.csv）文件，“说明.pdf”不是这两种格式"),
        ("假的.xlsx", b"just some text", "文件不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入"),
        ("旧版.xls", b"\xd0\xcf\x11\xe0", "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入"),
        ("图片.csv", b"\x89PNG\r\n\x00\x00", "文件不是文本格式的 CSV 文件"),
    ],
)
def test_files_that_are_not_spreadsheets_are_refused(people, name, content, message):
    with pytest.raises(ServiceError) as exc:
        run("achievements", people.acme_member, content, name=name)
    assert exc.value.message == message
    assert import_events() == []


# --- organizations ------------------------------------------------------------------------------------------

GOOD_CODE = "91340600MA2N0K3P77"
OTHER_CODE = "91340603MA8Q1L2R52"


def organization_row(name: str, **cells) -> list:
    values = {"单位名称": name, "单位类型": "企业", "所属区域": "相山区", "所在地行政区划": "340603"}
    values.update(cells)
    return row_for("organizations", **values)


@pytest.mark.django_db
def test_organizations_import_with_credit_codes(people):
    rows = [
        headers("organizations"),
        organization_row("淮北新材料研究院", 单位类型="科研院所", 统一社会信用代码=GOOD_CODE.lower(), 公开展示="否"),
        organization_row("相山智能装备有限公司", 统一社会信用代码="", 网站="https://example.com"),
    ]
    report = run("organizations", people.platform_admin, xlsx(rows))
    assert report.summary == "导入成功，共 2 行"
    institute = Organization.objects.get(name="淮北新材料研究院")
    assert (institute.kind, institute.credit_code, institute.is_public) == ("research_institute", GOOD_CODE, False)
    assert (institute.region.code, institute.division_id, institute.created_by) == (
        "340603",
        "340603",
        people.platform_admin,
    )
    assert Organization.objects.get(name="相山智能装备有限公司").credit_code is None
    assert Event.objects.filter(action="create", target_repr="淮北新材料研究院").count() == 1


@pytest.mark.django_db
def test_bad_credit_code_is_reported_with_its_column(people):
    rows = [
        headers("organizations"),
        organization_row("甲公司", 统一社会信用代码=GOOD_CODE),
        organization_row("乙公司", 统一社会信用代码=OTHER_CODE[:-1] + "3"),
    ]
    report = run("organizations", people.platform_admin, xlsx(rows))
    assert report.lines == ["第 3 行 “统一社会信用代码”：统一社会信用代码校验位错误：应为 2，实际为 3"]
    assert Organization.objects.filter(name__in=["甲公司", "乙公司"]).count() == 0


@pytest.mark.django_db
def test_duplicate_names_and_codes_in_the_file_and_on_the_platform(people):
    people.rival.credit_code = OTHER_CODE
    people.rival.save(update_fields=["credit_code"])
    rows = [
        headers("organizations"),
        organization_row("甲公司", 统一社会信用代码=GOOD_CODE),
        organization_row("甲公司"),
        organization_row("丙公司", 统一社会信用代码=GOOD_CODE),
        organization_row(ACME),
        organization_row("丁公司", 统一社会信用代码=OTHER_CODE),
    ]
    report = run("organizations", people.platform_admin, xlsx(rows))
    assert report.lines == [
        "第 3 行 “单位名称”：与第 2 行重复：“甲公司”",
        "第 4 行 “统一社会信用代码”：与第 2 行重复：“91340600MA2N0K3P77”",
        "第 5 行 “单位名称”：平台已有单位使用“淮北示例陶铝科技有限公司”",
        "第 6 行 “统一社会信用代码”：平台已有单位使用“91340603MA8Q1L2R52”",
    ]
    assert Organization.objects.count() == 2


@pytest.mark.django_db
def test_region_admin_registers_organizations_only_in_their_region(people):
    rows = [headers("organizations"), organization_row("甲公司"), organization_row("乙公司", 所属区域="濉溪县")]
    report = run("organizations", people.xiangshan_admin, xlsx(rows))
    assert report.lines == ["第 3 行 “所属区域”：无权在“濉溪县”登记单位"]
    assert run("organizations", people.xiangshan_admin, xlsx(rows[:2])).summary == "导入成功，共 1 行"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["acme_admin", "acme_member", "scout", "auditor"])
def test_only_administrators_register_organizations(people, who):
    rows = [headers("organizations"), organization_row("甲公司")]
    report = run("organizations", getattr(people, who), xlsx(rows))
    assert report.lines == ["第 2 行 “所属区域”：无权在“相山区”登记单位"]
    assert not Organization.objects.filter(name="甲公司").exists()


@pytest.mark.django_db
def test_anonymous_users_cannot_import(people):
    from techtransfer.core.access import AccessDenied

    with pytest.raises(AccessDenied):
        run("achievements", None, xlsx([headers("achievements"), achievement_row("甲")]))
    assert Achievement.objects.count() == 0
