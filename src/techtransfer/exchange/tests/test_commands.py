"""``techtransfer import``, ``techtransfer export`` and ``techtransfer template`` on the command line."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from techtransfer.audit.models import Event
from techtransfer.core.tests.factories import DemandFactory
from techtransfer.demands.models import Demand

from .helpers import csv_file, headers, read_csv, read_xlsx, row_for

ACME = "淮北示例陶铝科技有限公司"


def demand_csv(path, *rows):
    path.write_bytes(csv_file([headers("demands"), *rows], encoding="gbk"))
    return str(path)


def demand(title, **cells):
    return row_for("demands", 需求名称=title, 需求描述="描述", 所属单位=ACME, **cells)


@pytest.mark.django_db
def test_import_command_imports_and_dry_runs(people, tmp_path):
    path = demand_csv(tmp_path / "需求.csv", demand("甲"), demand("乙"))
    out = io.StringIO()
    call_command("import", "demands", path, "--user", "acme_member", "--dry-run", stdout=out)
    assert (out.getvalue(), Demand.objects.count()) == ("校验通过，共 2 行\n", 0)
    out = io.StringIO()
    call_command("import", "demands", path, "--user", "acme_member", stdout=out)
    assert (out.getvalue(), Demand.objects.count()) == ("导入成功，共 2 行\n", 2)
    assert Event.objects.filter(action="import").count() == 2


@pytest.mark.django_db
def test_import_command_prints_every_problem_and_fails(people, tmp_path):
    path = demand_csv(tmp_path / "需求.csv", demand("甲", 截止日期="明年"), demand("乙", 卡脖子技术="不确定"))
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import", "demands", path, "--user", "acme_member", stderr=err)
    assert str(exc.value) == "校验未通过：发现 2 处问题，未导入任何数据"
    assert err.getvalue().splitlines() == [
        "第 2 行 “截止日期”：应为 YYYY-MM-DD 格式的日期，实际为“明年”",
        "第 3 行 “卡脖子技术”：应为“是”或“否”，实际为“不确定”",
    ]
    assert Demand.objects.count() == 0


@pytest.mark.django_db
def test_import_command_refuses_unknown_users_and_files(people, tmp_path):
    with pytest.raises(CommandError, match="没有账号“nobody”"):
        call_command("import", "demands", str(tmp_path / "x.csv"), "--user", "nobody")
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import", "demands", str(tmp_path / "x.csv"), "--user", "acme_member")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(CommandError, match="只能导入 Excel（.xlsx）或 CSV（.csv）文件"):
        call_command("import", "demands", str(tmp_path / "x.txt"), "--user", "acme_member")


@pytest.mark.django_db
def test_export_command_with_filters_as_anonymous_and_as_a_user(people, tmp_path):
    now = timezone.now()
    DemandFactory(organization=people.acme, title="相山需求", status="published", published_at=now)
    DemandFactory(organization=people.rival, title="濉溪需求", status="published", published_at=now)
    DemandFactory(organization=people.acme, title="相山草稿")
    out = io.StringIO()
    path = tmp_path / "需求.csv"
    call_command("export", "demands", str(path), "--filter", "region=340603", stdout=out)
    assert out.getvalue() == f"已导出 1 行到 {path}\n"
    rows = read_csv(path.read_bytes())
    assert [(r[0], r[11]) for r in rows[1:]] == [("相山需求", "138****1111")]
    xlsx_path = tmp_path / "需求.xlsx"
    call_command(
        "export", "demands", str(xlsx_path), "--user", "acme_member", "--filter", "region=340603", "--q", "草稿"
    )
    assert [(r[0], r[11]) for r in read_xlsx(xlsx_path.read_bytes())[1:]] == [("相山草稿", "13800001111")]
    event = Event.objects.filter(action="export").order_by("id").last()
    assert event.changes == {
        "kind": "demands",
        "filters": {"region": "340603"},
        "q": "草稿",
        "ordering": "",
        "format": "xlsx",
        "rows": 1,
    }


@pytest.mark.django_db
def test_export_command_refuses_bad_filters(people, tmp_path):
    with pytest.raises(CommandError, match="筛选条件应写成 KEY=VALUE：region"):
        call_command("export", "demands", str(tmp_path / "x.csv"), "--filter", "region")
