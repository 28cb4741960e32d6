"""A throw-away project folder laid out like a fresh clone, to run hhcast's commands and stack
apart from this checkout's own data: the stack's and the live demo's tests, bench/stack.py and
the UI screenshots (docs/served.py) use it, and QUICK_CANDIDATES, for runs that train.

The folder gets copies of prefect.yaml and hhcast.yaml and links to the code, so a command run
in it reads the project's configuration and code as a clone would; its environment is the
user's without any PREFECT_ or HHCAST_ setting of ours, its caches and Prefect state inside
the folder's parent.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ("prefect.yaml", "hhcast.yaml")
CODE = ("flows", "tasks", "warehouse", "hhcast", "sql")
# training.candidates for runs about the loop rather than the models (HHCAST_TRAINING__
# CANDIDATES): the naive baseline, which a first training installs as champion, and ridge,
# which beats it on the small sample, so there is a challenger to promote or review. Seconds
# to train, where hhcast.yaml's four take minutes.
QUICK_CANDIDATES = (
    "{naive_last_year: {algorithm: naive, params: {column: hh_lag_52, fallback: hh_rolling_4}},"
    " ridge: {algorithm: linear, params: {alpha: 1.0}}}"
)


def scratch_project(base: Path, **settings: str) -> tuple[Path, dict[str, str]]:
    """`base`/project laid out like a fresh clone, and the environment to run hhcast in there:
    the user's, cleared of PREFECT_ and HHCAST_ variables, plus `settings` (e.g. HHCAST_LAKE)."""
    project = base / "project"
    project.mkdir()
    for name in CONFIGURATION:
        (project / name).write_bytes((ROOT / name).read_bytes())
    for name in CODE:
        (project / name).symlink_to(ROOT / name)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HHCAST_"))}
    return project, {
        **clean,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_STATE_HOME": str(base / "state"),
        **settings,
    }
