"""One decision with its trace: three-valued logic, exact amounts, versions by application date."""

from decimal import Decimal

import pytest

from techtransfer.policy import RuleError, RuleErrorCode, Status, default_library, evaluate
from techtransfer.policy.calculators import split_commercialization_income

from .helpers import library


def run(lib, facts, cid="t.clause", period=2024, applied_on="2024-06-01"):
    return evaluate(lib, cid, facts, period=period, applied_on=applied_on)


@pytest.mark.parametrize(
    ("e", "f", "status_and", "status_or"),
    [
        (True, True, Status.ELIGIBLE, Status.ELIGIBLE),
        (True, False, Status.NOT_ELIGIBLE, Status.ELIGIBLE),
        (False, None, Status.NOT_ELIGIBLE, Status.MISSING),
        (True, None, Status.MISSING, Status.ELIGIBLE),
        (None, None, Status.MISSING, Status.MISSING),
    ],
)
def test_and_or_follow_three_valued_logic(e, f, status_and, status_or):
    lib = library({"id": "t.and", **_c("e and f")}, {"id": "t.or", **_c("e or f")}, {"id": "t.not", **_c("not e")})
    facts = {"e": e, "f": f}
    assert run(lib, facts, "t.and").status is status_and
    assert run(lib, facts, "t.or").status is status_or
    assert (
        run(lib, facts, "t.not").status is {True: Status.NOT_ELIGIBLE, False: Status.ELIGIBLE, None: Status.MISSING}[e]
    )


def _c(condition):
    return {"title": "测试条款", "entity": "enterprise", "source": {"article": "第一条"}, "condition": condition}


def test_missing_facts_are_listed_only_when_they_decide():
    lib = library(_clause("a > 1 and b > 1 and c > 0.5"))
    assert run(lib, {"a": 2}).missing == ["b", "c"]
    assert run(lib, {"a": 0}).missing == []  # a ≤ 1 already decides: not eligible
    assert run(lib, {"a": 0}).status is Status.NOT_ELIGIBLE


def test_division_by_zero_is_undefined_not_missing():
    lib = library(_clause("b / a >= 1"))
    result = run(lib, {"a": 0, "b": 5})
    assert (result.status, result.missing) == (Status.UNDEFINED, [])
    assert result.trace["notes"] == ["除数为零，无法计算「b / a」"]
    assert run(lib, {"a": 0, "b": None}).status is Status.MISSING


def test_amounts_are_exact_decimals_rounded_half_up_to_the_fen():
    lib = library(_clause("b > 0", amount="b * p.r", cap="p.k"))
    assert run(lib, {"b": "0.05"}).amount == Decimal("0.02")  # 0.015 → 0.02
    assert run(lib, {"b": "0.01"}).amount == Decimal("0.00")  # 0.003 → 0.00
    assert run(lib, {"b": "333.33"}).amount == Decimal("100.00")  # 99.999 → 100.00, under the cap
    capped = run(lib, {"b": "1000"})
    assert capped.amount == Decimal("100.00")
    assert capped.trace["amount"] == {
        "formula": "b * p.r",
        "text": "（乙（金额） × 比率）",
        "value": "300",
        "cap_formula": "p.k",
        "cap": "100",
        "capped": True,
        "result": "100.00",
    }


def test_a_negative_formula_pays_nothing():
    lib = library(_clause("b >= 0", amount="b - 10"))
    assert run(lib, {"b": 3}).amount == Decimal("0.00")


def test_coalesce_takes_the_first_known_value():
    lib = library(_clause("coalesce(c, 0.5) >= 0.5"))
    assert run(lib, {"c": None}).status is Status.ELIGIBLE
    assert run(lib, {"c": "0.4"}).status is Status.NOT_ELIGIBLE


def test_the_trace_shows_conditions_facts_and_parameters_with_dates_and_sources():
    lib = default_library()
    facts = {"staff": 320, "revenue": 80000000, "assets": None, "sme_score": 72, "tech_staff_indicator": 12}
    result = evaluate(lib, "tech_sme.precheck", facts, period=2024, applied_on="2025-03-01")
    trace = result.trace
    assert result.status is Status.MISSING and result.missing == ["assets"]
    assert trace["conditions"][0] == {
        "expr": "staff <= p.tech_sme.max_staff",
        "text": "职工总数（320） ≤ 科技型中小企业职工总数上限（500）",
        "value": True,
        "missing": [],
        "operands": ["320", "500"],
    }
    assert trace["conditions"][2]["value"] is None and trace["conditions"][2]["missing"] == ["assets"]
    assert trace["facts"]["assets"] == {"label": "资产总额", "unit": "元", "value": None}
    staff_param = next(p for p in trace["parameters"] if p["name"] == "tech_sme.max_staff")
    assert staff_param == {
        "name": "tech_sme.max_staff",
        "label": "科技型中小企业职工总数上限",
        "unit": "人",
        "value": "500",
        "effective_from": "2017-05-03",
        "effective_to": None,
        "source": {
            "document": "《科技型中小企业评价办法》",
            "number": "国科发政〔2017〕115号",
            "issuer": "科技部 财政部 国家税务总局",
            "article": "第六条第（二）项",
            "quote": "职工总数不超过500人、年销售收入不超过2亿元、资产总额不超过2亿元。",
        },
        "example": False,
    }
    assert trace["rule_version"] == {"clause": "tech_sme.precheck", "version_from": "2017-05-03", "library": lib.digest}
    assert (trace["period"], trace["applied_on"]) == (2024, "2025-03-01")


def test_the_explanation_reads_as_chinese_lines():
    result = evaluate(
        default_library(),
        "huaibei.pilot_base_reward",
        {"pilot_base_level": "provincial", "pilot_base_recognized_year": 2024},
        period=2024,
        applied_on="2025-03-01",
    )
    lines = result.explain().splitlines()
    assert lines[0] == "中试（产业化）基地认定奖励：符合，金额 500000.00 元"
    assert lines[1] == "  ✓ 中试（产业化）基地认定级别（省级） 属于 ［national、provincial］"
    expected = (
        "  · 获省级中试（产业化）基地认定奖励金额 = 500000元（示例值），依据 《淮北市加快科技成果转移转化行动方案》 "
    )
    assert expected + "二、（三）“推进中试基地建设”" in lines


def test_the_rules_of_the_application_date_apply_not_those_of_the_period():
    lib = default_library()
    facts = {"newly_recognized_hte_year": 2024}
    early = evaluate(lib, "huaibei.hte_new_reward", facts, period=2024, applied_on="2024-12-31")
    late = evaluate(lib, "huaibei.hte_new_reward", facts, period=2024, applied_on="2025-01-01")
    assert (early.amount, late.amount) == (Decimal("100000.00"), Decimal("150000.00"))
    assert late.trace["parameters"][0]["effective_from"] == "2025-01-01"
    with pytest.raises(RuleError) as info:
        evaluate(lib, "huaibei.hte_new_reward", facts, period=2025, applied_on="2026-01-01")
    assert info.value.code is RuleErrorCode.NOT_IN_FORCE
    assert (
        info.value.message
        == "条款「新认定高新技术企业奖励」在 2026-01-01 没有生效的版本（生效期间：2023-01-01 至 2025-12-31）"
    )


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"staff": "12.5"}, "「职工总数」（staff）应为整数，收到「12.5」"),
        ({"staff": True}, "「职工总数」（staff）应为整数，收到「True」"),
        ({"revenue": "1.005"}, "「年销售收入」（revenue）最多保留两位小数（分），收到「1.005」"),
        ({"revenue": -1}, "「年销售收入」（revenue）不能为负数，收到「-1」"),
        ({"revenue": "abc"}, "「年销售收入」（revenue）应为金额（元），收到「abc」"),
        (
            {"tech_staff_ratio": "1.2"},
            "「科技人员占当年职工总数的比例」（tech_staff_ratio）应为 0 到 1 之间的比例（如 0.6 表示 60%）"
            "，收到「1.2」",
        ),
        (
            {"has_core_ip": "yes"},
            "「拥有对主要产品（服务）发挥核心支持作用的知识产权所有权」（has_core_ip）应为是/否（true/false），收到「yes」",
        ),
        (
            {"pilot_base_level": "county"},
            "「中试（产业化）基地认定级别」（pilot_base_level）没有取值「county」，可选：national（国家级）、provincial（省级）、municipal（市级）、none（未认定）",
        ),
        ({"staf": 1}, "未知的事实「staf」"),
        ({"assets": "1e16"}, "「资产总额」（assets）超出可处理的范围（绝对值不超过 10¹⁵），收到「1e16」"),
    ],
)
def test_bad_input_facts_are_refused_before_any_rule_runs(facts, message):
    with pytest.raises(RuleError) as info:
        evaluate(default_library(), "tech_sme.precheck", facts, period=2024, applied_on="2025-03-01")
    assert info.value.message == message


def test_bad_period_or_date_is_refused():
    lib = default_library()
    with pytest.raises(RuleError, match="申请日期「2025-13-01」无效"):
        evaluate(lib, "tech_sme.precheck", {}, period=2024, applied_on="2025-13-01")
    with pytest.raises(RuleError, match="评价期间「24」无效"):
        evaluate(lib, "tech_sme.precheck", {}, period=24, applied_on="2025-03-01")
    with pytest.raises(RuleError, match="未找到政策条款「nope」"):
        evaluate(lib, "nope", {}, period=2024, applied_on="2025-03-01")


def test_the_income_split_calculator_shares_every_fen():
    split = split_commercialization_income("1000000.01", period=2024, applied_on="2025-03-01")
    assert split.applies
    assert (split.inventors, split.transfer_staff, split.unit) == (
        Decimal("500000.01"),
        Decimal("50000.00"),
        Decimal("450000.00"),
    )
    assert split.inventors + split.transfer_staff + split.unit == Decimal("1000000.01")
    own = split_commercialization_income(
        200000, inventor_share_rate="0.7", transfer_staff_share_rate="0.02", period=2024, applied_on="2025-03-01"
    )
    assert (own.inventors, own.transfer_staff, own.unit) == (
        Decimal("140000.00"),
        Decimal("10000.00"),
        Decimal("50000.00"),
    )
    refused = split_commercialization_income(100, unit_kind="enterprise", period=2024, applied_on="2025-03-01")
    assert not refused.applies and refused.inventors == Decimal("0.00")


def _clause(condition, **kw):
    from .helpers import clause

    return clause(condition, **kw)
