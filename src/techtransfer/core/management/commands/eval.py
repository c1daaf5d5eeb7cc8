"""``techtransfer eval retrieval|classify ...``: the evaluation commands of the matching engine.

The work is done by framework-free modules; this command only dispatches:

* ``retrieval`` → :func:`techtransfer.matching.evaluation.main`
* ``classify``  → :func:`techtransfer.fieldsuggest.evaluation.main` (imported lazily)
"""

from __future__ import annotations

import argparse
import importlib

from django.core.management.base import BaseCommand, CommandError

SUBCOMMANDS = {
    "retrieval": "techtransfer.matching.evaluation:main",
    "classify": "techtransfer.fieldsuggest.evaluation:main",
}


class Command(BaseCommand):
    help = "评测：retrieval（检索排序）或 classify（领域分类）。Run `techtransfer eval retrieval --help` for options."

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=sorted(SUBCOMMANDS))
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv):
        # Hand everything after the subcommand to its own parser, so its --help and options are its own.
        if len(argv) > 2 and argv[2] in SUBCOMMANDS:
            try:
                code = _dispatch(argv[2], argv[3:])
            except CommandError as exc:
                self.stderr.write(str(exc))
                code = 1
            raise SystemExit(code)
        return super().run_from_argv(argv)

    def handle(self, *args, subcommand, **options):
        code = _dispatch(subcommand, list(options.get("args") or []) + list(args))
        if code:
            raise CommandError(f"eval {subcommand} exited with status {code}")


def _dispatch(subcommand: str, argv: list[str]) -> int:
    module_name, func_name = SUBCOMMANDS[subcommand].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandError(f"eval {subcommand} is not available: {exc}") from exc
    return int(getattr(module, func_name)(argv) or 0)
