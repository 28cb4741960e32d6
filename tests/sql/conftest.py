"""Fixtures of the SQL model tests."""

from __future__ import annotations

import pytest
from raw_rows import RawWarehouse


@pytest.fixture
def raw(settings) -> RawWarehouse:
    return RawWarehouse(settings)
