"""导入政策原文: a file's text normalized like the matching pipeline, stored with an audit event; non-text refused."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from techtransfer.audit.models import Event
from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.policies import services
from techtransfer.policies.fulltext import MAX_TEXT_BYTES, read_policy_text
from techtransfer.policies.models import Policy

pytestmark = pytest.mark.django_db

SEED_DIR = Path(__file__).resolve().parents[5] / "shared" / "seed"
PINYIN_RE = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")

# Lines copied verbatim from the raw seed (shared/seed/000_*.txt): traditional characters, pinyin annotations,
# and the mangled passage (“??顚S谩⒉患{入”, GBK bytes read as something else) that is kept as it is.
RAW_EXCERPT = [
    "關(guān)于印發(fā)淮北市加快科技成果轉(zhuǎn)移轉(zhuǎn)化行動方案的通知",
    "政策免費指導熱線:15855199550,19855109130(可加v)",
    "開展管理改革試點。到2025年,國有工業(yè)企業(yè)研發(fā)經(jīng)費投入占主營業(yè)務(wù)收入比例達到3.5%以上,"
    "推動設(shè)立??顚S谩⒉患{入增值保值考核的研發(fā)準備金",
]
EXCERPT_SIMPLIFIED = [
    "关于印发淮北市加快科技成果转移转化行动方案的通知",
    "政策免费指导热线:15855199550,19855109130(可加v)",
    "开展管理改革试点。到2025年,国有工业企业研发经费投入占主营业务收入比例达到3.5%以上,推动设立??顚S谩⒉患{入增值保值考核的研发准备金",
]


def raw_seed() -> tuple[bytes, str]:
    seeds = sorted(SEED_DIR.glob("000_*.txt"))
    if not seeds or not (SEED_DIR / "plan-simplified.txt").exists():
        pytest.skip("shared/seed is not beside this checkout")
    return seeds[0].read_bytes(), (SEED_DIR / "plan-simplified.txt").read_text("utf-8")


@pytest.fixture
def plan(library):
    return Policy.objects.get(engine_id="huaibei_transfer_plan")


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document>淮北市加快科技成果转移转化行动方案</w:document>")
    return buffer.getvalue()


def state(policy) -> tuple:
    """The policy's text and its audit trail (logins are audited too, so only the policy's own events count)."""
    policy.refresh_from_db()
    events = Event.objects.filter(target_type__model="policy", target_id=str(policy.pk)).count()
    return policy.full_text, policy.updated_at, events


# ---------------------------------------------------------------- the service


def test_the_raw_seed_page_becomes_the_plan_in_simplified_characters(people, plan):
    # Given the raw scraped page of the plan (traditional, pinyin annotations, a mangled passage)
    data, simplified = raw_seed()
    # When staff import it
    report = services.policy_text_import(actor=people.platform_admin, policy=plan, data=data, filename="plan.html")
    # Then the full text is the plan in simplified characters, one paragraph per line of the page
    plan.refresh_from_db()
    expected = [line.strip() for line in simplified.splitlines() if line.strip()]
    assert plan.full_text.split("\n\n") == expected
    assert "关于印发淮北市加快科技成果转移转化行动方案的通知" in plan.full_text
    assert "企业与高校院所联合承担项目的比例原则上不低于70%。" in plan.full_text
    assert "按成果转化收益给予不低于5%的奖励" in plan.full_text
    assert "投向科技成果转化早期项目的比例均应达到50%以上" in plan.full_text
    assert "業" not in plan.full_text and "轉" not in plan.full_text
    assert not PINYIN_RE.search(plan.full_text)
    assert "<" not in plan.full_text and "&" not in plan.full_text
    # and the report says what was kept, and flags the mangled passage without repairing it
    assert (len(report.text.paragraphs), report.text.characters, report.text.encoding) == (53, 6594, "UTF-8")
    assert report.text.mangled == ["%以上,推动设立??顚S谩⒉患{入增"]
    assert report.summary().startswith(
        "已导入：plan.html（UTF-8，23260 字节，10462 个字符），规范化后保留 53 段、6594 个字符"
    )
    assert "有 1 处疑似乱码，未作修复" in report.summary()
    # and one audit event records the before and after
    event = Event.objects.filter(target_id=str(plan.pk), action="update").latest("id")
    assert event.actor == people.platform_admin
    assert event.changes == {"full_text": ["", plan.full_text]}
    assert event.summary == "导入政策原文：plan.html，53 段、6594 字"


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda t: t.encode("gb18030"), "GBK/GB18030"),
        (lambda t: t.encode("gbk", errors="strict"), "GBK/GB18030"),
        (lambda t: "\ufeff".encode() + t.encode(), "UTF-8（带 BOM）"),
        (lambda t: t.encode("utf-16"), "UTF-16"),
    ],
)
def test_an_html_page_in_each_accepted_encoding_keeps_its_paragraphs(encode, encoding):
    page = (
        "<html><head><title>淮北市科技局</title><style>p { color: red }</style>"
        '<script>var x = "<p>不是正文</p>";</script></head><body>'
        f'<p class="t">{RAW_EXCERPT[0]}</p><div\n  class="hint">{RAW_EXCERPT[1]}&nbsp;</div>'
        f"<p>{RAW_EXCERPT[2]}<br>第二行：服務（wù）　ＡＢＣ</p></body></html>"
    )
    if encoding.startswith("GBK"):
        page = page.replace("⒉", "")  # not in GBK; the mangled passage is checked in UTF-8 below
    text = read_policy_text(encode(page), "page.htm")
    expected = ["淮北市科技局", *EXCERPT_SIMPLIFIED, "第二行:服务 ABC"]
    if encoding.startswith("GBK"):
        expected[3] = expected[3].replace("⒉", "")
    assert (text.paragraphs, text.encoding) == (expected, encoding)


def test_markdown_keeps_its_lines_as_paragraphs():
    text = read_policy_text("# 行動方案\r\n\r\n一、總體要求\r\n  (一)指導(dǎo)思想。\n".encode(), "plan.md")
    assert text.paragraphs == ["# 行动方案", "一、总体要求", "(一)指导思想。"]
    assert text.text == "# 行动方案\n\n一、总体要求\n\n(一)指导思想。"


NOT_TEXT = [
    ("scan.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "文件不是文本：这是PNG 图片"),
    ("plan.txt", docx_bytes(), "文件不是文本：这是ZIP 压缩包"),
    ("plan.txt", "淮北市".encode() + b"\x00\x00" + "行动方案".encode(), "文件不是文本：含有空字节（NUL）"),
    ("plan.txt", b"\xff\xff\xfe\xfd\xfc" * 40, "文件不是文本：无法按 UTF-8 或 GBK 编码识别"),
    ("plan.txt", bytes(range(1, 32)) * 20, "文件不是文本：含有大量控制字符"),
    ("plan.docx", "淮北市行动方案".encode(), "文件不是文本：只接受 .txt、.html、.md 文件，收到“plan.docx”"),
]


@pytest.mark.parametrize(
    ("filename", "data", "message"), NOT_TEXT, ids=["png", "docx", "nul", "undecodable", "ctrl", "ext"]
)
def test_a_file_that_is_not_text_is_refused_in_chinese_and_changes_nothing(people, plan, filename, data, message):
    services.policy_text_import(actor=people.platform_admin, policy=plan, data="原有全文".encode(), filename="old.txt")
    before = state(plan)
    with pytest.raises(ServiceError) as exc:
        services.policy_text_import(actor=people.platform_admin, policy=plan, data=data, filename=filename)
    assert exc.value.code == "not_text"
    assert exc.value.message.startswith(message)
    assert state(plan) == before
    assert plan.full_text == "原有全文"


def test_a_file_over_the_size_limit_is_refused_and_changes_nothing(people, plan):
    before = state(plan)
    with pytest.raises(ServiceError) as exc:
        services.policy_text_import(
            actor=people.platform_admin, policy=plan, data=b"a" * (MAX_TEXT_BYTES + 1), filename="big.txt"
        )
    assert exc.value.code == "too_large"
    assert exc.value.message == "文件过大（2.0 MB）：政策原文文件不能超过 2 MB"
    assert state(plan) == before


def test_an_empty_file_or_one_with_only_markup_is_refused(people, plan):
    before = state(plan)
    for data in (b"", b"<html><body>&nbsp;<br/></body></html>"):
        with pytest.raises(ServiceError) as exc:
            services.policy_text_import(actor=people.platform_admin, policy=plan, data=data, filename="x.html")
        assert exc.value.message in ("文件是空的", "文件中没有可导入的文字")
    assert state(plan) == before


def test_a_dry_run_reports_and_writes_nothing(people, plan):
    before = state(plan)
    report = services.policy_text_import(
        actor=people.platform_admin,
        policy=plan,
        data="\n".join(RAW_EXCERPT).encode("gb18030", errors="ignore"),
        filename="plan.txt",
        dry_run=True,
    )
    assert report.summary().startswith("预览（未保存）：plan.txt（GBK/GB18030，")
    assert len(report.text.paragraphs) == 3
    assert state(plan) == before


def test_only_platform_administrators_import_and_a_refusal_changes_nothing(people, plan):
    before = state(plan)
    for user in (people.xiangshan_admin, people.acme_admin, people.outsider):
        with pytest.raises(AccessDenied):
            services.policy_text_import(actor=user, policy=plan, data="政策".encode(), filename="a.txt")
    assert state(plan) == before


# ---------------------------------------------------------------- the page


def upload(name, data):
    return SimpleUploadedFile(name, data, content_type="text/plain")


def test_staff_import_on_the_policy_page_and_the_cached_public_page_shows_it(client, people, plan):
    url = reverse("policies:detail", args=[plan.pk])
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"

    client.force_login(people.platform_admin)
    assert "导入政策原文" in client.get(url).content.decode()
    import_url = reverse("policies:text_import", args=[plan.pk])
    page = client.get(import_url)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.content.decode()

    response = client.post(import_url, {"file": upload("plan.txt", "\n".join(RAW_EXCERPT).encode())}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    shown = response.content.decode()
    assert "已导入：plan.txt（UTF-8，" in shown
    assert "规范化后保留 3 段" in shown
    assert "有 1 处疑似乱码，未作修复" in shown

    client.logout()
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "关于印发淮北市加快科技成果转移转化行动方案的通知" in response.content.decode()


def test_the_import_page_previews_and_shows_a_refusal_on_the_form(client, people, plan):
    client.force_login(people.platform_admin)
    url = reverse("policies:text_import", args=[plan.pk])
    before = state(plan)
    preview = client.post(url, {"file": upload("plan.txt", "\n".join(RAW_EXCERPT).encode()), "dry_run": "on"})
    assert preview.status_code == 200
    assert "预览（未保存）" in preview.content.decode()
    assert EXCERPT_SIMPLIFIED[0] in preview.content.decode()

    refused = client.post(url, {"file": upload("plan.txt", docx_bytes())})
    assert refused.status_code == 200
    assert refused.context["form"].errors["file"][0].startswith("文件不是文本：这是ZIP 压缩包")
    assert state(plan) == before


def test_the_import_page_is_closed_to_others_as_the_rest_of_the_app(client, people, plan):
    url = reverse("policies:text_import", args=[plan.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    before = state(plan)
    for user in (people.acme_admin, people.xiangshan_admin):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"file": upload("a.txt", "政策".encode())}).status_code == 403
    assert state(plan) == before
    client.force_login(people.platform_admin)
    assert client.get(reverse("policies:text_import", args=[99999])).status_code == 404


# ---------------------------------------------------------------- the command


def test_the_command_imports_by_document_number_with_a_dry_run_first(people, plan, tmp_path):
    path = tmp_path / "plan.txt"
    path.write_bytes("\n".join(RAW_EXCERPT).encode("gb18030", errors="ignore"))
    plan.document_number = "淮政办〔2023〕5号"
    plan.save(update_fields=["document_number"])
    before = state(plan)
    out = io.StringIO()
    call_command("policies", "import-text", "淮政办〔2023〕5号", str(path), "--dry-run", stdout=out)
    assert "预览（未保存）：plan.txt（GBK/GB18030，" in out.getvalue()
    assert state(plan) == before

    out = io.StringIO()
    call_command("policies", "import-text", "huaibei_transfer_plan", str(path), stdout=out)
    assert "已导入：plan.txt" in out.getvalue()
    plan.refresh_from_db()
    assert plan.full_text.startswith(EXCERPT_SIMPLIFIED[0] + "\n\n")
    assert Event.objects.filter(target_id=str(plan.pk), summary__startswith="导入政策原文").count() == 1


def test_the_command_refuses_a_binary_file_and_an_unknown_policy(people, plan, tmp_path):
    path = tmp_path / "plan.txt"
    path.write_bytes(docx_bytes())
    before = state(plan)
    with pytest.raises(CommandError, match="^文件不是文本：这是ZIP 压缩包"):
        call_command("policies", "import-text", str(plan.pk), str(path))
    with pytest.raises(CommandError, match="未找到政策：皖科〔9999〕1号"):
        call_command("policies", "import-text", "皖科〔9999〕1号", str(path))
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("policies", "import-text", str(plan.pk), str(tmp_path / "missing.txt"))
    assert state(plan) == before
