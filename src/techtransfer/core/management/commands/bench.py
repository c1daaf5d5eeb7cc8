import argparse
from importlib import import_module

from django.core.management.base import BaseCommand, CommandError

from techtransfer.core.benchtargets import TARGETS


class Command(BaseCommand):
    help = (
        "运行基准测试：techtransfer bench <目标> [该目标的参数]，例如 techtransfer bench policies --enterprises 100000"
    )

    def add_arguments(self, parser):
        parser.add_argument("target", help="目标：" + "、".join(sorted(TARGETS)))
        parser.add_argument(
            "target_args", nargs=argparse.REMAINDER, metavar="参数", help="交给该目标的参数（用 --help 查看）"
        )

    def handle(self, *args, target, target_args, **options):
        if target not in TARGETS:
            raise CommandError(f"未知的基准目标「{target}」，可选：{'、'.join(sorted(TARGETS))}")
        module_name, _, function = TARGETS[target].partition(":")
        main = getattr(import_module(module_name), function)
        code = main(list(target_args))
        if code:
            raise CommandError(f"基准「{target}」未通过（退出码 {code}）", returncode=code)
