"""Whatever bytes land, the per-file reader returns rows or a rejection with a reason, never raises.

Random bytes, and real exports (tests/builders.py, tests/workbooks.py) cut short, overwritten
or spliced, under every name a source accepts. Derandomized, so CI sees the same examples.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from builders import LEGACY_HEADER, write_events_xlsx, write_utilization_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbooks import ods_bytes, xls_bytes

from hhcast.config import load_settings
from tasks.raw.read import RawTable, UnreadableFile, read_export

EVENT = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
UTIL = ["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "23456:40", "12'345"]
NAMES = ["e.xlsx", "e.xlsm", "e.xls", "e.ods", "u.csv", "u.txt"]
PROPERTY = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _exports() -> list[bytes]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        xlsx = write_events_xlsx(out / "e.xlsx", [EVENT] * 5, title="Events", blank_rows=1)
        csv = write_utilization_csv(out / "u.csv", [UTIL] * 5, encoding="latin-1")
        return [
            xlsx.read_bytes(),
            csv.read_bytes(),
            xls_bytes([LEGACY_HEADER, *[EVENT] * 5]),
            ods_bytes({"Events": [LEGACY_HEADER, *[EVENT] * 5]}),
        ]


EXPORTS = _exports()


@pytest.fixture(scope="module")
def config():
    return load_settings()


def read_or_reject(name: str, content: bytes, config) -> None:
    try:
        table = read_export(f"/landing/{name}", content, config)
    except UnreadableFile as rejection:
        assert str(rejection).startswith(f"/landing/{name}: ")
        assert len(str(rejection)) < 1000  # a reason, not the file's content
    else:
        assert isinstance(table, RawTable) and table.rows_read == table.frame.height


@st.composite
def mutated(draw) -> bytes:
    content = bytearray(draw(st.sampled_from(EXPORTS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(content)))
        kind = draw(st.sampled_from(["cut", "overwrite", "insert", "delete"]))
        noise = draw(st.binary(min_size=1, max_size=64))
        if kind == "cut":
            del content[at:]
        elif kind == "overwrite":
            content[at : at + len(noise)] = noise
        elif kind == "insert":
            content[at:at] = noise
        else:
            del content[at : at + len(noise)]
    return bytes(content)


@PROPERTY
@given(name=st.sampled_from(NAMES), content=st.binary(max_size=4096))
def test_random_bytes_are_read_or_rejected(config, name, content):
    read_or_reject(name, content, config)


@PROPERTY
@given(name=st.sampled_from(NAMES), content=mutated())
def test_damaged_exports_are_read_or_rejected(config, name, content):
    read_or_reject(name, content, config)
