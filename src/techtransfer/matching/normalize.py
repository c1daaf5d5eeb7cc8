"""Text normalization applied to every indexed text and every query.

Steps, in order (each one is idempotent, and so is the whole):

1. HTML entities decoded (repeatedly, so ``&amp;lt;`` ends as ``<``) and tags removed;
2. full-width ASCII (U+FF01–U+FF5E) and the ideographic space folded to half-width;
3. pinyin annotations such as ``服务(wù)`` stripped: a parenthesised lower-case latin
   syllable carrying a tone mark, right after a Chinese character (``(可加v)`` or ``(NQI)`` stay);
4. traditional → simplified characters with OpenCC (``t2s``);
5. whitespace folded to one space, ends trimmed; control characters dropped.

No Django import here: the engine is a plain Python package.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata

__all__ = ["normalize", "to_simplified", "to_traditional", "fullwidth_to_halfwidth", "strip_pinyin", "strip_html"]

_TAG_RE = re.compile(
    r"<!--.*?-->"
    r"|</?[a-zA-Z][a-zA-Z0-9]*"
    r"(?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>",
    re.S,
)
_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_PINYIN_RE = re.compile(
    r"(?<=[\u3400-\u9fff\uf900-\ufaff])\((?=[a-z"
    + _TONE_VOWELS
    + r"]*["
    + _TONE_VOWELS
    + r"])[a-z"
    + _TONE_VOWELS
    + r"]{1,7}\)"
)
_WS_RE = re.compile(r"\s+")
_CTRL_RE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200d\ufeff]")
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20

_converters: dict[str, object] = {}
_lock = threading.Lock()


def _converter(config: str):
    conv = _converters.get(config)
    if conv is None:
        import opencc

        with _lock:
            conv = _converters.setdefault(config, opencc.OpenCC(config))
    return conv


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``)."""
    return _converter("t2s").convert(text) if text else text


def to_traditional(text: str) -> str:
    """Simplified → traditional (OpenCC ``s2t``); used by the evaluation to test robustness."""
    return _converter("s2t").convert(text) if text else text


def strip_html(text: str) -> str:
    if "&" not in text and "<" not in text:
        return text
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return _until_stable(lambda t: _TAG_RE.sub(" ", t), text)


_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")


def fullwidth_to_halfwidth(text: str) -> str:
    return text.translate(_FULLWIDTH) if _FULLWIDTH_RE.search(text) else text


def strip_pinyin(text: str) -> str:
    return _until_stable(lambda t: _PINYIN_RE.sub("", t), text)


def _until_stable(step, text: str, rounds: int = 8) -> str:
    # removing one match can expose another (``務(w(wù)ù)``); repeat so that normalize stays idempotent
    for _ in range(rounds):
        new = step(text)
        if new == text:
            break
        text = new
    return text


def normalize(text: str | None) -> str:
    """Return the canonical form of ``text`` used for indexing and querying."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    # width first: a full-width ``＜Ａ＞`` becomes a tag only once folded, and must go in the same pass
    text = fullwidth_to_halfwidth(text)
    text = strip_html(text)
    text = strip_pinyin(text)
    text = to_simplified(text)
    text = _CTRL_RE.sub("", text)
    text = _WS_RE.sub(" ", text).strip()
    return text
