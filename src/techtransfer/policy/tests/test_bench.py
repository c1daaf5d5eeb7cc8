"""The benchmark runs end to end on a small batch, checks itself against the row-wise path, and says what it skips."""

import sys

import numpy as np
import pytest

from techtransfer.policy import bench, default_library
from techtransfer.policy.vector import Columns


def test_generated_facts_are_valid_columns_with_some_missing():
    facts = bench.generate_facts(1000, seed=3)
    lib = default_library()
    cols = Columns.from_arrays(lib.catalogue, facts)  # raises if any value breaks the catalogue
    assert cols.n == 1000 and set(facts) == set(lib.catalogue.facts)
    missing = sum(v is None for v in facts["pilot_base_level"])
    assert 10 <= missing <= 60  # about 3 %
    assert np.array_equal(bench.generate_facts(1000, seed=3)["revenue"], facts["revenue"], equal_nan=True)  # seeded


def test_the_benchmark_prints_throughput_memory_and_agreement(capsys):
    code = bench.main(
        ["--enterprises", "500", "--repeat", "1", "--check-rows", "10", "--skip-openfisca", "--threads", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "政策规则引擎基准：500 个主体 × 12 个条款（2025-06-30 生效）" in out
    assert "本引擎线程数：2（--threads；" in out
    assert "直通程序：11/12 个条款（按这批列一次生成，含其派生列 " in out  # all but the income split
    assert "批量评价：6,000 次条款评价" in out and "（2 线程，1 次取最快）" in out
    assert "evaluations/s:" in out and "内存：批量评价峰值" in out
    assert "逐行核对：120 次逐行评价与批量结果全部一致" in out
    assert "OpenFisca 对比：已跳过（--skip-openfisca）" in out


def test_without_openfisca_the_comparison_is_skipped_with_a_clear_message(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openfisca_core", None)  # import now fails as if not installed
    code = bench.main(["--enterprises", "200", "--repeat", "1", "--check-rows", "2"])
    assert code == 0
    assert "OpenFisca 对比：未安装 openfisca-core，跳过这一半。" in capsys.readouterr().out


def test_the_openfisca_half_agrees_with_the_engine_where_openfisca_is_installed(capsys):
    pytest.importorskip("openfisca_core")
    code = bench.main(["--enterprises", "3000", "--repeat", "1", "--check-rows", "2", "--threads", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "吞吐量之比（本引擎 2 线程 / OpenFisca 1 线程）：仅计算 " in out and "；含载入 " in out
    assert "仅计算（输入已载入，交替运行，1 次取最快）：本引擎 2 线程 " in out and "OpenFisca 1 线程 " in out
    assert "本引擎 1 线程（同样交替运行）：" in out and "之比（本引擎 1 线程 / OpenFisca）" in out
    assert "注：不足 1,000,000 行且条款全是直通程序时，本引擎只用调用线程" in out and "故此处 2 线程即 1 线程" in out
    assert "hte.precheck 结论一致 100.00%" in out
    assert "tech_sme.precheck 结论一致 100.00%" in out
    assert "huaibei.tech_service_subsidy 金额一致 100.00%" in out


def test_a_thread_count_below_one_is_refused_with_a_clear_message(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--enterprises", "10", "--threads", "0", "--skip-openfisca"])
    assert "--threads 须为正整数" in capsys.readouterr().err
