"""``techtransfer bench <target>`` dispatches to the registered benchmark and passes its options through."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from techtransfer.core.benchtargets import TARGETS


def test_bench_policies_runs_the_policy_benchmark(capsys):
    call_command("bench", "policies", "--enterprises", "300", "--repeat", "1", "--check-rows", "3", "--skip-openfisca")
    out = capsys.readouterr().out
    assert "政策规则引擎基准：300 个主体 × 12 个条款" in out
    assert "逐行核对：36 次逐行评价与批量结果全部一致" in out


def test_an_unknown_target_is_refused_with_the_list():
    with pytest.raises(CommandError, match="未知的基准目标「nope」，可选："):
        call_command("bench", "nope")


def test_targets_are_module_function_paths():
    assert TARGETS["policies"] == "techtransfer.policy.bench:main"
    assert all(":" in path for path in TARGETS.values())
