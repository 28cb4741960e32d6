"""Fixtures of the report tests: the crafted tables of tests/report_tables.py."""

from __future__ import annotations

import pytest
from report_tables import crafted_tables

from tasks.reports.tables import ReportTables


@pytest.fixture
def tables() -> ReportTables:
    return crafted_tables()
