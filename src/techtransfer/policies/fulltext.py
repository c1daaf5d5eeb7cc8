"""A policy's full text read from an uploaded file and normalized the way the matching pipeline normalizes text.

``read_policy_text(data, filename)`` accepts ``.txt``, ``.html``/``.htm`` and ``.md`` files in UTF-8 (with or
without BOM), UTF-16 with BOM, or GB 18030 (a superset of GBK and GB 2312). Anything that is not text — an
image, an archive (``.docx`` is a zip), a PDF, NUL bytes, bytes no accepted encoding decodes, or text full of
control characters — is refused with a ``ServiceError`` in Chinese, before anything is written.

The text goes through ``techtransfer.matching.normalize`` (HTML removed, full-width folded, pinyin annotations
stripped, traditional → simplified, whitespace folded). That normalizer folds line breaks too, so paragraphs are
normalized one by one: HTML tags are removed from the whole text first (a tag may span lines) with the
normalizer's own ``strip_html``, block tags (``<p>``, ``<br>``, ``<div>`` …) first becoming line breaks.
Passages that look mangled (``??`` runs, U+FFFD) are reported, never repaired.
"""

import codecs
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from techtransfer.core.errors import ServiceError
from techtransfer.matching.normalize import normalize, strip_html

from .choices import PolicyErrorCode

MAX_TEXT_BYTES = 2 * 1024 * 1024
TEXT_EXTENSIONS = (".txt", ".html", ".htm", ".md")

# Leading bytes of the binary files people most often pick by mistake.
BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文件"),
    (b"PK\x03\x04", "ZIP 压缩包（Word 的 .docx、WPS 的 .wps 也是这种格式）"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文件（.doc/.xls）"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
)
# Control characters (tab, line and page breaks excepted) and private-use code points: a few are noise,
# many mean the bytes were not text in the encoding that happened to decode them.
_SUSPECT_CHAR_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ue000-\uf8ff]")
_SUSPECT_CHAR_LIMIT = 0.01
_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_BLOCK_TAG_RE = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|tr|h[1-6]|table|section|article|ul|ol|blockquote|pre|hr|title)\b[^>]*>", re.I
)
_MANGLED_RE = re.compile(r"\?{2,}|\ufffd+")


def _not_text(reason: str) -> ServiceError:
    return ServiceError(
        PolicyErrorCode.NOT_TEXT,
        _("文件不是文本：%(r)s。请上传 UTF-8 或 GBK 编码的 .txt、.html 或 .md 文件") % {"r": reason},
        {"file": [_("文件不是文本：%(r)s") % {"r": reason}]},
    )


@dataclass(frozen=True)
class PolicyText:
    """A file's text as it will be stored, with what the import report says about it."""

    filename: str
    encoding: str
    size: int
    source_characters: int
    paragraphs: list[str]
    mangled: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def characters(self) -> int:
        """Characters kept, paragraph breaks not counted."""
        return sum(len(p) for p in self.paragraphs)


def check_size(size: int) -> None:
    if size > MAX_TEXT_BYTES:
        limit = MAX_TEXT_BYTES // (1024 * 1024)
        message = _("文件过大（%(s)s）：政策原文文件不能超过 %(m)s MB") % {"s": _human_size(size), "m": limit}
        raise ServiceError(PolicyErrorCode.TOO_LARGE, message, {"file": [message]})


def _human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def decode(data: bytes) -> tuple[str, str]:
    """The text of ``data`` and the name of its encoding, or a ``ServiceError`` saying why it is not text."""
    for signature, kind in BINARY_SIGNATURES:
        if data.startswith(signature):
            raise _not_text(_("这是%(k)s") % {"k": kind})
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", "UTF-8（带 BOM）")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", "UTF-16")]
    elif b"\x00" in data:
        raise _not_text(_("含有空字节（NUL），可能是二进制文件"))
    else:
        candidates = [("utf-8", "UTF-8"), ("gb18030", "GBK/GB18030")]
    for codec, label in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        suspects = len(_SUSPECT_CHAR_RE.findall(text))
        if suspects > max(8, len(text) * _SUSPECT_CHAR_LIMIT):
            raise _not_text(_("含有大量控制字符（%(n)s 个），可能是二进制文件") % {"n": suspects})
        return text, label
    raise _not_text(_("无法按 UTF-8 或 GBK 编码识别"))


def normalized_paragraphs(text: str) -> list[str]:
    """``normalize`` applied paragraph by paragraph (it folds line breaks itself); empty paragraphs dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SCRIPT_RE.sub("\n", text)
    text = _BLOCK_TAG_RE.sub(lambda m: "\n" + m.group(0) + "\n", text)
    text = strip_html(text)
    return [p for p in (normalize(line) for line in text.split("\n")) if p]


def read_policy_text(data: bytes, filename: str) -> PolicyText:
    """The normalized text of an uploaded file; ``ServiceError`` (nothing read further) when it is not text."""
    name = (filename or "").strip()
    if not name.lower().endswith(TEXT_EXTENSIONS):
        raise _not_text(_("只接受 .txt、.html、.md 文件，收到“%(n)s”") % {"n": name or _("无文件名")})
    check_size(len(data))
    if not data:
        raise ServiceError(PolicyErrorCode.INVALID, _("文件是空的"), {"file": [_("文件是空的")]})
    text, encoding = decode(data)
    paragraphs = normalized_paragraphs(text)
    if not paragraphs:
        message = _("文件中没有可导入的文字")
        raise ServiceError(PolicyErrorCode.INVALID, message, {"file": [message]})
    mangled = []
    for paragraph in paragraphs:
        for match in _MANGLED_RE.finditer(paragraph):
            start = max(0, match.start() - 8)
            mangled.append(paragraph[start : match.end() + 8])
    return PolicyText(
        filename=name,
        encoding=encoding,
        size=len(data),
        source_characters=len(text),
        paragraphs=paragraphs,
        mangled=mangled,
    )
