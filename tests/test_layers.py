"""The layers hold: flows > tasks > warehouse > hhcast, tasks.raw/marts/ml stay apart, and no
other task layer reads tasks.reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PACKAGES = ("flows", "tasks", "warehouse", "hhcast")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


def test_the_import_contracts_are_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    lake = tmp_path / "warehouse" / "lake.py"
    lake.write_text(lake.read_text() + "\nfrom flows import cli  # upward: warehouse -> flows\n")
    raw = tmp_path / "tasks" / "raw" / "load.py"
    raw.write_text(raw.read_text() + "\nfrom tasks.ml import registry  # across task layers\n")
    drift = tmp_path / "tasks" / "monitoring" / "drift.py"
    drift.write_text(drift.read_text() + "\nfrom tasks.reports import series  # reads reports\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "1 kept, 3 broken" in done.stdout, done.stdout
    assert "warehouse.lake -> flows.cli" in done.stdout
    assert "tasks.raw.load -> tasks.ml.registry" in done.stdout
    assert "tasks.monitoring.drift -> tasks.reports.series" in done.stdout
