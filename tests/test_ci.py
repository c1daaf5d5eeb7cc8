"""The gates: ``make test`` runs them in order, and ``.ci/run`` runs ``make test`` with PostgreSQL required."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GATES = [
    "ruff check",
    "ruff format --check",
    "techtransfer check --fail-level WARNING",
    "techtransfer makemigrations --check --dry-run",
    "pytest",
    "techtransfer.devtools.pgtest",
]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_runs_every_gate_in_order():
    dry_run = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = dry_run.splitlines()
    positions = [next((i for i, line in enumerate(lines) if gate in line), None) for gate in GATES]
    assert None not in positions, dry_run
    assert positions == sorted(positions), dry_run
    # The first pytest run is on SQLite whatever DATABASE_URL the environment holds.
    assert "env -u DATABASE_URL" in lines[positions[GATES.index("pytest")]]


def test_ci_script_is_strict_and_requires_postgres():
    script = ROOT / ".ci" / "run"
    text = script.read_text()
    assert os.access(script, os.X_OK)
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert text.rstrip().endswith("REQUIRE_POSTGRES=1 make test")
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
