"""The engine is a plain Python package: importing it must not import Django."""

import subprocess
import sys

ENGINE = [
    "normalize",
    "analysis",
    "lexical",
    "bigrams",
    "semantic",
    "fusion",
    "index",
    "ivf",
    "metrics",
    "evaluation",
    "bench",
]


def test_engine_modules_do_not_import_django():
    code = (
        "import sys\n"
        + "".join(f"import techtransfer.matching.{m}\n" for m in ENGINE)
        + "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
