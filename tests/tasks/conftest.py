"""Fixtures of the task tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.marts.project import SQL_DIR


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    """A copy of sql/ (models, macros, data tests) that a test may edit."""
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    return copy
