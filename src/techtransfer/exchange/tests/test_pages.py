"""The upload page: login required, kind + file + “仅校验（不写入）”, and the report on the same page."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url

from techtransfer.achievements.models import Achievement
from techtransfer.audit.models import Event

from .helpers import headers, row_for, xlsx

ACME = "淮北示例陶铝科技有限公司"


def upload(name: str, content: bytes):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def good_file(*titles: str, readiness=6) -> bytes:
    rows = [row_for("achievements", 成果名称=t, 成果简介="简介", 技术就绪度=readiness, 所属单位=ACME) for t in titles]
    return xlsx([headers("achievements"), *rows])


@pytest.mark.django_db
def test_upload_page_requires_login(client):
    response = client.get("/exchange/import/")
    assert response.status_code == 302
    assert response["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next=/exchange/import/"
    response = client.post("/exchange/import/", {"kind": "achievements", "file": upload("a.xlsx", good_file("甲"))})
    assert response.status_code == 302
    assert Achievement.objects.count() == 0


@pytest.mark.django_db
def test_upload_page_shows_the_form_and_template_links(client, people):
    client.force_login(people.acme_member)
    response = client.get("/exchange/import/?kind=demands")
    body = response.content.decode()
    assert response.status_code == 200
    assert "仅校验（不写入）" in body
    assert '<option value="demands" selected>技术需求</option>' in body
    assert 'href="/exchange/templates/organizations.xlsx"' in body


@pytest.mark.django_db
def test_upload_page_shows_the_report_of_a_bad_file(client, people):
    client.force_login(people.acme_member)
    content = xlsx(
        [
            headers("achievements"),
            row_for("achievements", 成果名称="甲", 成果简介="简介", 所属单位=ACME),
            row_for("achievements", 成果名称="乙", 成果简介="简介", 技术就绪度=12, 所属单位=ACME),
        ]
    )
    response = client.post("/exchange/import/", {"kind": "achievements", "file": upload("成果.xlsx", content)})
    body = response.content.decode()
    assert response.status_code == 200
    assert "校验未通过：发现 1 处问题，未导入任何数据" in body
    assert "<li>第 3 行 “技术就绪度”：应为 1–9 的整数，实际为“12”</li>" in body
    assert Achievement.objects.count() == 0


@pytest.mark.django_db
def test_upload_page_dry_run_then_import(client, people):
    client.force_login(people.acme_member)
    content = good_file("甲", "乙")
    response = client.post(
        "/exchange/import/", {"kind": "achievements", "file": upload("成果.xlsx", content), "dry_run": "on"}
    )
    assert "校验通过，共 2 行" in response.content.decode()
    assert Achievement.objects.count() == 0
    response = client.post("/exchange/import/", {"kind": "achievements", "file": upload("成果.xlsx", content)})
    assert "导入成功，共 2 行" in response.content.decode()
    assert sorted(Achievement.objects.values_list("title", flat=True)) == ["乙", "甲"]
    events = Event.objects.filter(action="import").order_by("id")
    assert [(e.actor_name, e.summary) for e in events] == [
        ("acme_member", "导入科技成果：成果.xlsx，2 行（仅校验）"),
        ("acme_member", "导入科技成果：成果.xlsx，2 行"),
    ]
    assert events[0].ip_address == "127.0.0.1"


@pytest.mark.django_db
def test_upload_page_refuses_a_file_that_is_not_a_spreadsheet(client, people):
    client.force_login(people.acme_member)
    response = client.post("/exchange/import/", {"kind": "achievements", "file": upload("合同.docx", b"PK\x03\x04")})
    assert response.status_code == 400
    assert "只能导入 Excel（.xlsx）或 CSV（.csv）文件，“合同.docx”不是这两种格式" in response.content.decode()
    assert Event.objects.filter(action="import").count() == 0
