"""Normalization: the raw seed's traditional text with pinyin annotations, full-width forms, HTML, idempotence."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techtransfer.matching.normalize import normalize, to_traditional

SEED_DIR = Path(__file__).resolve().parents[5] / "shared" / "seed"

# Lines copied verbatim from the raw seed (shared/seed/000_*.txt), and what the index must see.
SEED_CASES = [
    (
        "- 合肥市推进人力資源服務(wù)業(yè)高質(zhì)量發(fā)展行動方案申報材料條件和申請獎勵補貼、時間細則",
        "- 合肥市推进人力资源服务业高质量发展行动方案申报材料条件和申请奖励补贴、时间细则",
    ),
    (
        "關(guān)于印發(fā)淮北市加快科技成果轉(zhuǎn)移轉(zhuǎn)化行動方案的通知",
        "关于印发淮北市加快科技成果转移转化行动方案的通知",
    ),
    (
        "為貫徹落實《安徽省人民政府關(guān)于印發(fā)安徽省深化科技創(chuàng)新體制機制改革加快科技成果轉(zhuǎn)化應(yīng)用體系建設(shè)"
        "行動方案的通知》(皖政〔2022〕64號)精神",
        "为贯彻落实《安徽省人民政府关于印发安徽省深化科技创新体制机制改革加快科技成果转化应用体系建设"
        "行动方案的通知》(皖政〔2022〕64号)精神",
    ),
    # a parenthesis that is not pinyin stays: a WeChat hint and an acronym
    ("政策免費指導熱線:15855109130(可加v)", "政策免费指导热线:15855109130(可加v)"),
    ("強化質(zhì)量基礎(chǔ)設(shè)施(NQI)對科技創(chuàng)新", "强化质量基础设施(NQI)对科技创新"),
]


@pytest.mark.parametrize(("raw", "expected"), SEED_CASES)
def test_seed_lines_become_simplified_without_pinyin(raw, expected):
    # given a line of the raw seed / when normalised / then it reads as plain simplified Chinese
    assert normalize(raw) == expected


def test_whole_raw_seed_is_cleaned_and_normalize_is_idempotent():
    seeds = sorted(SEED_DIR.glob("000_*.txt"))
    if not seeds:
        pytest.skip("shared/seed is not beside this checkout")
    raw = seeds[0].read_text("utf-8")
    assert "(wù)" in raw and "業(yè)" in raw
    once = normalize(raw)
    assert normalize(once) == once
    assert "(wù)" not in once and "(yè)" not in once and "(zhuǎn)" not in once
    assert "業" not in once and "轉" not in once
    assert "科技成果转移转化" in once
    assert "\n" not in once and "  " not in once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３，！　ｘ", "ABC123,! x"),  # full-width forms and the ideographic space
        ("服務（wù）", "服务"),  # a full-width parenthesis around pinyin
        ('<p class="x">锂电池&amp;隔膜&nbsp;技术</p><br/>', "锂电池&隔膜 技术"),
        ("&amp;lt;b&amp;gt;粗体&amp;lt;/b&amp;gt;", "粗体"),  # double-escaped markup
        ("<!-- 注释 -->正文", "正文"),
        ("＜Ａ＞正文", "正文"),  # a tag written in full-width forms (found by the idempotence property test)
        ("a<b 且 c>d", "a<b 且 c>d"),  # a comparison is not a tag
        ("  多个\n\t空白  ", "多个 空白"),
        ("乾隆年間的頭髮", "乾隆年间的头发"),
        ("", ""),
    ],
)
def test_normalize_cases(raw, expected):
    assert normalize(raw) == expected


def test_simplified_text_survives_a_round_trip_through_traditional():
    text = "锂离子电池隔膜的制备方法及其在新能源汽车中的应用"
    traditional = to_traditional(text)
    assert traditional == "鋰離子電池隔膜的製備方法及其在新能源汽車中的應用"
    assert normalize(traditional) == text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("服務(wù)業(yè)<>/&;ampltgt#x4e2dＡＢ１　\n\t()（）ùèb門開發(fā)頭髮")),
        max_size=40,
    )
)
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
