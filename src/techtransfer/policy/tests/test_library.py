"""The shipped library loads, cites its sources, and a bad rule is refused with every problem named."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from techtransfer.policy import RuleError, RuleErrorCode, default_library, load_library
from techtransfer.policy.library import LIBRARY_DIR, load_yaml

from . import helpers

LIB = default_library()


def test_the_shipped_library_has_the_clauses_of_the_plan_and_the_national_rules():
    assert sorted(LIB.clauses) == [
        "hte.precheck",
        "huaibei.early_stage_fund_share",
        "huaibei.hte_new_reward",
        "huaibei.instrument_sharing_subsidy",
        "huaibei.joint_fund_naming",
        "huaibei.joint_project_ratio",
        "huaibei.pilot_base_reward",
        "huaibei.soe_rd_ratio",
        "huaibei.tech_service_subsidy",
        "huaibei.tech_sme_new_reward",
        "huaibei.transfer_income_split",
        "tech_sme.precheck",
    ]
    assert LIB.policies["hte_recognition"].source.number == "国科发火〔2016〕32号"
    assert LIB.policies["tech_sme_evaluation"].source.number == "国科发政〔2017〕115号"
    assert LIB.policies["huaibei_transfer_plan"].valid_to == dt.date(2025, 12, 31)


def test_every_clause_and_parameter_value_cites_a_document_and_an_article_with_its_words():
    for clause in LIB.clauses.values():
        for version in clause.versions:
            assert version.source.document and version.source.article and version.source.quote, clause.id
    for param in LIB.parameters.parameters.values():
        for value in param.values:
            assert value.source.document and value.source.article and value.source.quote, param.name


def test_unspecified_amounts_of_the_plan_are_marked_as_examples_and_stated_numbers_are_not():
    examples = {name for name, p in LIB.parameters.parameters.items() if p.is_example}
    assert examples == {
        "huaibei.hte_new_reward",
        "huaibei.tech_sme_new_reward",
        "huaibei.pilot_base_reward_provincial",
        "huaibei.pilot_base_reward_national",
        "huaibei.instrument_sharing_rate",
        "huaibei.instrument_sharing_cap",
        "huaibei.service_subsidy_rate",
        "huaibei.service_subsidy_cap",
    }
    values = {name: str(p.values[0].value) for name, p in LIB.parameters.parameters.items()}
    assert values["huaibei.transfer_staff_min_share"] == "0.05"
    assert values["huaibei.joint_fund_naming_min"] == "1000000"
    assert values["huaibei.joint_project_min_ratio"] == "0.70"
    assert values["huaibei.early_stage_min_share"] == "0.50"
    assert values["huaibei.soe_rd_min_ratio"] == "0.035"


def test_staff_can_validate_a_new_clause_and_add_it_without_touching_the_library():
    data = {
        "id": "huaibei.big_rd_bonus",
        "title": "研发投入大户奖励（演示）",
        "entity": "enterprise",
        "track": "exempt",
        "source": {"article": "二、（四）“加大科技财政投入”"},
        "condition": "rd_spend_3y >= 10000000 and revenue > 0",
        "amount": "rd_spend_3y * 0.01",
        "cap": "p.huaibei.service_subsidy_cap",
    }
    clause = LIB.validate_clause(data, policy_id="huaibei_transfer_plan")
    assert clause.versions[0].effective_to == dt.date(2025, 12, 31)  # inherited from the plan
    bigger = LIB.with_clause(clause)
    assert "huaibei.big_rd_bonus" in bigger.clauses and "huaibei.big_rd_bonus" not in LIB.clauses
    assert bigger.digest != LIB.digest


def test_a_bad_clause_is_refused_with_every_problem_in_chinese():
    data = {
        "id": "x.bad",
        "title": "错误示例",
        "entity": "enterprise",
        "track": "someday",
        "source": {"article": "第一条"},
        "condition": "staf > 1",
    }
    with pytest.raises(RuleError) as info:
        LIB.validate_clause(data, policy_id="huaibei_transfer_plan")
    assert info.value.details == {
        "clause.x.bad.track": [
            "兑现方式「someday」无效，可选：precheck（条件预检）、exempt（免申即享）、quick（快申快享）、procedure（按程序申报）、monitor（指标监测）"
        ]
    }
    data["track"] = "quick"
    data["amount"] = "has_core_ip * 100"
    data["from"] = "2022-01-01"
    with pytest.raises(RuleError) as info:
        LIB.validate_clause(data, policy_id="huaibei_transfer_plan")
    messages = [m for ms in info.value.details.values() for m in ms]
    assert messages == [
        "第 1 个字符处：未知的事实「staf」，是否要写：staff（职工总数）？",
        "第 1 个字符处：「has_core_ip」是是非判断，不能参与算术运算 ×",
        "条款版本的生效期间超出了政策文件的有效期",
    ]
    assert info.value.message.startswith("条款校验未通过：")


def test_overlapping_parameter_values_and_missing_sources_are_refused():
    parameters = {
        "r": {
            "label": "比率",
            "values": [
                {"value": 1, "from": "2024-01-01", "to": "2024-12-31", "source": helpers.SOURCE},
                {"value": 2, "from": "2024-06-01", "source": {"quote": "没有条款号"}},
            ],
        }
    }
    with pytest.raises(RuleError) as info:
        helpers.library(parameters=parameters)
    messages = [m for ms in info.value.details.values() for m in ms]
    assert messages == [
        "参数「r」的取值须注明出处条款（source.article）",
        "参数「r」的取值期间重叠：2024-01-01 起的取值与 2024-06-01 起的取值",
    ]


def test_overlapping_clause_versions_and_bad_dates_are_refused():
    clause = helpers.clause("e", versions=None)
    del clause["versions"]
    clause.pop("condition")
    clause["versions"] = [
        {"from": "2024-01-01", "to": "2024-12-31", "condition": "e"},
        {"from": "2024-07-01", "condition": "f"},
        {"from": "2024-02-30", "condition": "f"},
    ]
    with pytest.raises(RuleError) as info:
        helpers.library(clause)
    messages = [m for ms in info.value.details.values() for m in ms]
    assert "日期「2024-02-30」无效，应写成 2024-01-01 的形式" in messages
    assert "条款的版本期间重叠：2024-01-01 至 2024-12-31 与 2024-07-01 至 长期" in messages


def test_a_file_that_is_not_yaml_or_not_text_is_refused(tmp_path: Path):
    with pytest.raises(RuleError) as info:
        load_yaml("policy: [unclosed", "broken.yaml")
    assert info.value.message.startswith("broken.yaml 第 1 行不是有效的 YAML")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(RuleError) as info:
        load_library(tmp_path)
    assert info.value.message == "bin.yaml 不是 UTF-8 文本"


def test_yaml_numbers_are_exact_decimals():
    assert str(load_yaml("x: 0.035\n")["x"]) == "0.035"
    assert str(LIB.parameters["hte.rd_ratio_small"].values[0].value) == "0.05"


def test_a_copy_of_the_library_with_a_changed_value_applies_it(tmp_path: Path):
    for path in LIBRARY_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (tmp_path / path.name).write_text(
            text.replace("      - value: 500\n", "      - value: 300\n"), encoding="utf-8"
        )
    changed = load_library(tmp_path)
    assert str(changed.parameters["tech_sme.max_staff"].values[0].value) == "300"
    assert changed.digest != LIB.digest


def test_the_package_imports_without_django_configured():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, techtransfer.policy as p, techtransfer.policy.bench, techtransfer.policy.calculators, "
        "techtransfer.policy.scenarios; "
        "r = p.evaluate(p.default_library(), 'tech_sme.precheck', {'staff': 1}, period=2024, applied_on='2025-03-01'); "
        "assert r.missing == ['revenue', 'assets', 'sme_score', 'tech_staff_indicator']; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'; "
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


def test_no_module_of_the_package_names_django():
    import ast

    for path in LIBRARY_DIR.parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "django" for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "django", path


def test_unknown_keys_in_a_library_file_are_refused():
    with pytest.raises(RuleError) as info:
        helpers.library({**helpers.clause("e"), "amont": "1"})
    assert info.value.code is RuleErrorCode.BAD_RULE
    assert info.value.details == {"test.yaml:clauses.t.clause": ["条款中有未知的项「amont」"]}
