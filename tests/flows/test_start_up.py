"""A command starts without the libraries only some runs use: they load where they are used.

Every `hhcast` command pays for what its flow's modules import before its run begins; with
the stack serving, that is most of what a weekly cycle costs beyond its own work (issue 14).
scikit-learn, SciPy and pandas load where a model is fitted or loaded, pandera where a file's
rows are checked, altair and vl-convert where a report is drawn, TensorFlow where a network
is. Asserted on the modules a fresh Python holds, never on time.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import flows

ROOT = Path(__file__).resolve().parents[2]
LOADED_WHERE_USED = (
    "sklearn", "scipy", "pandas", "skops", "tensorflow", "keras", "pandera", "altair",
    "vl_convert", "matplotlib", "pyarrow",
)  # fmt: skip


def _heavy_after(statement: str) -> list[str]:
    """The libraries above that a fresh Python holds after running `statement`."""
    probe = (
        f"{statement}\n"
        "import json, sys\n"
        f"print(json.dumps([m for m in {list(LOADED_WHERE_USED)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_every_flow_module_and_the_cli_import_none_of_the_heavy_libraries():
    modules = ["flows." + m.name for m in pkgutil.iter_modules(flows.__path__)]
    assert "flows.pipeline" in modules and "flows.cli" in modules
    assert _heavy_after("\n".join(f"import {m}" for m in modules)) == []


def test_the_modules_a_forecast_and_a_report_need_import_none_before_they_run():
    statement = (
        "import tasks.forecast, tasks.monitor, tasks.report, tasks.train, tasks.what_if\n"
        "import tasks.ml.artifacts, tasks.ml.candidates, tasks.ml.level_shift\n"
        "import tasks.raw.check, tasks.raw.contracts, tasks.raw.prepare"
    )
    assert _heavy_after(statement) == []


def test_fitting_a_model_still_loads_scikit_learn_where_it_is_used():
    statement = (
        "import polars as pl\n"
        "from hhcast.config import CandidateSettings\n"
        "from tasks.ml.candidates import fit_candidate\n"
        "weeks = pl.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.0, 6.0, 8.0]})\n"
        "ridge = CandidateSettings(algorithm='linear', params={'alpha': 1.0})\n"
        "fit_candidate(ridge, ['x'], 'y', 7, weeks)"
    )
    assert "sklearn" in _heavy_after(statement)
