"""Which code trained a model: the git commit of the checkout, marked when it has local edits."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def code_version() -> str:
    """`<commit>` or `<commit>-dirty` in a git checkout, else `hhcast <package version>`."""
    try:
        commit = _git("rev-parse", "HEAD")
        edited = _git("status", "--porcelain", "--untracked-files=no")
        return f"{commit}-dirty" if edited else commit
    except (OSError, subprocess.CalledProcessError):
        try:
            return f"hhcast {version('hhcast')}"
        except PackageNotFoundError:
            return "unknown"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()
