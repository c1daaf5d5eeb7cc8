"""Analysis: jieba segmentation with the platform's user dictionary, character bigrams, keywords.

Segmentation uses ``rjieba`` (the Rust jieba-rs binding) in *no-HMM* mode, whose output is
identical to ``jieba.lcut(text, HMM=False)`` with the same dictionary (checked by a test) and
about 20× faster. The user dictionary holds the platform's own vocabulary: names from the
code lists shipped in ``techtransfer/core/data/*.csv`` (GB/T 4754 industries, GB/T 2260
divisions) plus any keywords the caller passes (registry keywords, field names).

Keyword extraction is TF-IDF with an :class:`IdfTable` estimated on the platform's own corpus.
"""

from __future__ import annotations

import csv
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import add as _add
from pathlib import Path

from .normalize import normalize

__all__ = [
    "Analyzer",
    "IdfTable",
    "code_list_terms",
    "cjk_bigrams",
    "STOPWORDS",
]

CODE_LIST_DIR = Path(__file__).resolve().parent.parent / "core" / "data"
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_ALNUM_RE = re.compile(r"[a-z0-9][a-z0-9.+#-]*[a-z0-9+#]|[a-z0-9]")
_SPLIT_NAME_RE = re.compile(r"[、，,;；()（）\s/]+|和|及|与")

# Function words and boilerplate that carry no topic (kept short on purpose: BM25's IDF does the rest).
STOPWORDS = frozenset(
    """的 了 和 与 及 或 在 对 为 是 以 于 等 中 上 下 将 把 被 由 从 向 并 而 其 之 也 就 都 又 该 此 这 那 个 种
    一种 一个 我们 本文 通过 进行 采用 利用 基于 研究 提出 分析 结果 表明 方法 目的 结论 具有 可以 能够 一些
    以及 及其 如何 需要 希望 公司 本公司 企业 问题 技术 相关 实现 提供 主要 目前 要求""".split()
)


def code_list_terms(directory: Path | str = CODE_LIST_DIR) -> list[str]:
    """Names (and their enumerated parts) from the code lists shipped with the platform."""
    terms: set[str] = set()
    directory = Path(directory)
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                name = normalize(row.get("name") or "")
                if not name:
                    continue
                if 2 <= len(name) <= 8 and not _SPLIT_NAME_RE.search(name):
                    terms.add(name)
                for part in _SPLIT_NAME_RE.split(name):
                    if 2 <= len(part) <= 8 and _CJK_RUN_RE.fullmatch(part):
                        terms.add(part)
    return sorted(terms)


def cjk_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams inside each run of Chinese characters (a lone character stays a unigram),
    plus latin/digit words; ``text`` is expected normalised and lower-cased."""
    out: list[str] = []
    extend = out.extend
    for run in _CJK_RUN_RE.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            extend(map(_add, run[:-1], run[1:]))
    extend(_ALNUM_RE.findall(text))
    return out


class Analyzer:
    """Turns normalised text into index terms. One instance per process is enough (thread-safe)."""

    def __init__(self, user_words: Iterable[str] = (), *, use_code_lists: bool = True, user_freq: int = 2000):
        import rjieba

        self._jieba = rjieba.Jieba()
        self._lock = threading.Lock()
        words = set(code_list_terms()) if use_code_lists else set()
        words.update(normalize(w).lower() for w in user_words if w and w.strip())
        self.user_words = sorted(w for w in words if len(w) >= 2)
        for word in self.user_words:
            self._jieba.add_word(word, user_freq, None)
        self.user_freq = user_freq

    def segment(self, text: str) -> list[str]:
        """jieba segmentation (no HMM) of already normalised text; every token, punctuation included."""
        return self._jieba.cut(text.lower(), False)

    def words(self, text: str) -> list[str]:
        """Content words for indexing: segmentation minus punctuation, spaces and stop words."""
        stop = STOPWORDS
        return [w for w in self.segment(text) if w[0].isalnum() and w not in stop]

    def word_counts(self, text: str) -> Counter:
        """``Counter`` of :meth:`words` (for indexing: the filter runs once per distinct token)."""
        counts = Counter(self.segment(text))
        stop = STOPWORDS
        for w in [w for w in counts if not w[0].isalnum() or w in stop]:
            del counts[w]
        return counts


@dataclass
class IdfTable:
    """Document frequencies of jieba words over the platform's corpus; smoothed IDF."""

    n_docs: int = 0
    df: Counter = field(default_factory=Counter)

    @classmethod
    def from_texts(cls, analyzer: Analyzer, texts: Iterable[str]) -> IdfTable:
        table = cls()
        for text in texts:
            table.n_docs += 1
            table.df.update(set(analyzer.words(text)))
        return table

    def idf(self, word: str) -> float:
        return math.log((self.n_docs + 1) / (self.df.get(word, 0) + 1)) + 1.0

    def keywords(self, analyzer: Analyzer, text: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` TF-IDF keywords of ``text`` (multi-character words only), best first, ties by first occurrence."""
        words = [w for w in analyzer.words(text) if len(w) >= 2]
        if not words:
            return []
        counts = Counter(words)
        first = {}
        for pos, w in enumerate(words):
            first.setdefault(w, pos)
        scored = [(w, c / len(words) * self.idf(w)) for w, c in counts.items()]
        scored.sort(key=lambda x: (-x[1], first[x[0]]))
        return scored[:k]

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps({"n_docs": self.n_docs, "df": dict(self.df)}, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path | str) -> IdfTable:
        data = json.loads(Path(path).read_text("utf-8"))
        return cls(n_docs=data["n_docs"], df=Counter(data["df"]))
