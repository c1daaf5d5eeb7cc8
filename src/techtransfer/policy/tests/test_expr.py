"""The rule language refuses what it does not know, in Chinese, and never executes the text."""

import ast
from pathlib import Path

import pytest

from techtransfer.policy import EntityKind, RuleError, RuleErrorCode, T, compile_expression, default_library

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scope():
    return default_library().scope(EntityKind.ENTERPRISE)


def check(text, scope, expect=T.BOOL):
    return compile_expression(text, expect=expect, scope=scope, field="condition")


def refusal(text, scope, expect=T.BOOL) -> RuleError:
    with pytest.raises(RuleError) as info:
        check(text, scope, expect)
    return info.value


def test_a_valid_condition_lists_the_facts_and_parameters_it_reads(scope):
    # given a multi-line condition with a comment, as staff write it
    text = "staff <= p.tech_sme.max_staff   # 职工\n and revenue <= param('tech_sme.max_revenue')"
    # when it is checked
    expr = check(text, scope)
    # then it is a boolean tree reading two facts and two parameters
    assert expr.type is T.BOOL
    assert expr.facts == {"staff", "revenue"}
    assert expr.params == {"tech_sme.max_staff", "tech_sme.max_revenue"}


def test_decimal_constants_are_exact(scope):
    expr = check("0.1 + 0.2", scope, T.NUMBER)
    a, b = expr.root.args
    assert (a.value, b.value) == (pytest.approx(0.1), pytest.approx(0.2))
    assert a.value.denominator == 10 and b.value.denominator == 5  # Fraction(1, 10), Fraction(1, 5)


def test_an_unknown_fact_is_named_with_a_suggestion(scope):
    error = refusal("staf <= 500", scope)
    assert error.code is RuleErrorCode.UNKNOWN_FACT
    assert error.details == {"condition": ["第 1 个字符处：未知的事实「staf」，是否要写：staff（职工总数）？"]}


def test_a_chinese_label_written_as_a_name_points_to_the_fact(scope):
    error = refusal("职工总数 <= 500", scope)
    assert (
        error.message
        == "第 1 个字符处：未知的事实「职工总数」。「职工总数」是事实 staff 的中文名称，表达式里请写 staff"
    )


def test_an_unknown_parameter_is_named(scope):
    error = refusal("staff <= p.tech_sme.max_staf", scope)
    assert error.code is RuleErrorCode.UNKNOWN_PARAMETER
    assert error.message.startswith("第 10 个字符处：未知的参数「p.tech_sme.max_staf」，是否要写：p.tech_sme.max_staff")


def test_a_fact_of_another_entity_is_refused(scope):
    error = refusal("commercialization_income > 0", scope)
    assert (
        error.message
        == "第 1 个字符处：事实「科技成果转化净收入」（commercialization_income）是关于项目的，本条款的对象是企业"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("has_core_ip + 1 > 0", "「has_core_ip」是是非判断，不能参与算术运算 +"),
        ("staff and revenue > 0", "and 两边必须是是非判断，「staff」是数值（是否漏了比较，如 > 0？）"),
        ("staff == has_core_ip", "不能比较数值「staff」和是非判断「has_core_ip」"),
        ('pilot_base_level < "national"', "文字选项只能用 == 或 != 比较"),
        ("not staff", "not 后面必须是是非判断，「staff」是数值"),
        ("(1 if has_core_ip else True)", "“x if 条件 else y”的两个结果类型必须一致：「1」是数值，「True」是是非判断"),
        ("min(staff, has_core_ip) > 0", "函数 min 的参数必须是数值，「has_core_ip」是是非判断"),
    ],
)
def test_wrong_types_are_explained(scope, text, message):
    error = refusal(text, scope)
    assert error.code is RuleErrorCode.TYPE
    assert error.message.endswith(message)


def test_a_condition_must_be_a_judgement_and_an_amount_a_number(scope):
    assert refusal("staff * 2", scope).message == "条件的结果必须是是非判断（成立或不成立），而「staff * 2」是数值"
    assert refusal("staff > 2", scope, T.NUMBER).message == "金额公式的结果必须是数值，而「staff > 2」是是非判断"


def test_an_option_value_outside_the_choices_is_refused(scope):
    error = refusal('pilot_base_level in ["provincial", "county"]', scope)
    assert error.code is RuleErrorCode.BAD_VALUE
    assert (
        "没有取值「county」，可选：national（国家级）、provincial（省级）、municipal（市级）、none（未认定）"
        in error.message
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "不支持的函数「__import__」"),
        ("__import__('os').system('true')", "不允许的函数调用"),
        ("staff.__class__ == 1", "点号只能用于参数"),
        ("().__class__", "点号只能用于参数"),
        ("(1).real > 0", "点号只能用于参数"),
        ("[1, 2][0] == 1", "下标"),
        ("(lambda: 1)() == 1", "不允许的函数调用"),
        ("staff ** 2 > 0", "乘方 **"),
        ("staff // 2 > 0", "整除 //"),
        ("has_core_ip & field_in_8_areas", "请写 and"),
        ("eval('1') == 1", "不支持的函数「eval」"),
        ("min(staff, key=abs) > 0", "不接受“名称=值”形式的参数"),
        ("staff is None", "不支持 is / is not"),
        ("staff == None", "不支持的常量空值 None"),
        ("'a' < 1", "不能比较文字选项「'a'」和数值「1」"),
        ("[x for x in [1]] == 1", "推导式"),
        ("f'{staff}' == '1'", "f 字符串"),
        ("(staff := 1) > 0", "赋值 :="),
        ("staff in [1, staff]", "列表里只能写数字或文字常量"),
    ],
)
def test_constructs_outside_the_language_are_refused(scope, text, fragment):
    error = refusal(text, scope)
    assert fragment in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("staff <= ", "表达式不完整：末尾缺少内容（例如比较符号后面的值）"),
        ("staff <= > 500", "第 1 行第 10 列附近有语法错误：无法识别的写法"),
        ("staff ＞ 1", "第 1 行第 7 列附近有语法错误：含有无法识别的字符（请使用英文半角符号，如 ( ) < = ,）"),
        ("staff >= 1,", "表达式中多了逗号（逗号只用于函数的参数和列表里）"),
        ("staff = 500", "第 1 行第 1 列附近有语法错误：比较相等请写 ==，不能写 ="),
        ("(staff > 1", "表达式有语法错误：括号或引号没有配对"),
        ("staff > 1) or (revenue > 1", "第 1 行第 10 列：多了一个右括号「)」"),
        ("   ", "表达式不能为空"),
        ("staff > 1 and\nrevenue > > 2", "第 2 行第 11 列附近有语法错误：无法识别的写法"),
    ],
)
def test_syntax_errors_say_where(scope, text, message):
    error = refusal(text, scope)
    assert error.code is RuleErrorCode.SYNTAX
    assert error.message == message


def test_every_problem_is_reported_at_once(scope):
    error = refusal("staf > 1 and p.nope > 2 and revenu > 3", scope)
    assert len(error.details["condition"]) == 3
    assert error.message.startswith("表达式引用了未知的事实（共 3 处问题）")


def test_oversized_or_deeply_nested_text_is_refused(scope):
    assert "表达式过长" in refusal("staff > 1 and " * 400 + "staff > 1", scope).message
    assert "过于复杂" in refusal("not " * 80 + "has_core_ip", scope).message


def test_chained_comparisons_become_a_conjunction(scope):
    expr = check("0 < staff <= 500", scope)
    assert expr.root.op == "and"
    assert [part.src for part in expr.root.args] == ["0 < staff", "staff <= 500"]


def test_the_package_never_calls_eval_or_exec():
    # the language is interpreted from its tree; nothing in the package may hand text to Python
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"eval", "exec", "compile"}, path
